package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Challenge is what a verification gate asks of the user.
type Challenge struct {
	// UserID is the user being verified.
	UserID string
	// Method is the method under way: email, sms, voice (a code was
	// sent), appCode (read the app), appNotification (approve it in the
	// app), or securityQuestions.
	Method string
	// Contact is the masked contact the portal shows ("+1 XXXXXXX00").
	Contact string
	// Questions are the security questions asked.
	Questions []string
	// Gate is the verification gate, 1 or 2.
	Gate int
	// CorrelationID is the flow's correlation id: the lab's outbox files
	// each message under it.
	CorrelationID string
	// FlowToken identifies the flow to the service, for a source that
	// answers notifications of one flow.
	FlowToken string
}

// Response is the user's answer to a Challenge: a code, or the answers to
// the security questions in the order asked. For a notification the
// response is empty: the source approves it (or not) on the user's phone.
type Response struct {
	Code    string
	Answers []string
}

// CodeSource answers verification challenges: the lab's outbox in tests,
// a person at a prompt otherwise. Its answers are secrets: the client
// never logs or records them.
type CodeSource interface {
	Respond(ctx context.Context, ch Challenge) (Response, error)
}

// CodeFunc adapts a function to CodeSource.
type CodeFunc func(ctx context.Context, ch Challenge) (Response, error)

// Respond calls f.
func (f CodeFunc) Respond(ctx context.Context, ch Challenge) (Response, error) { return f(ctx, ch) }

// Prompt is a CodeSource for a person: it prints each challenge to Out and
// reads the answer, one line per code or question, from In.
type Prompt struct {
	In  io.Reader
	Out io.Writer

	once sync.Once
	sc   *bufio.Scanner
}

// Respond asks at the prompt.
func (p *Prompt) Respond(ctx context.Context, ch Challenge) (Response, error) {
	if p.In == nil || p.Out == nil {
		return Response{}, errors.New("client.Prompt: In and Out are required")
	}
	p.once.Do(func() { p.sc = bufio.NewScanner(p.In) })
	line := func(prompt string) (string, error) {
		fmt.Fprint(p.Out, prompt)
		if !p.sc.Scan() {
			if err := p.sc.Err(); err != nil {
				return "", err
			}
			return "", io.ErrUnexpectedEOF
		}
		return strings.TrimSpace(p.sc.Text()), ctx.Err()
	}
	switch ch.Method {
	case methodSecurityQuestions:
		var r Response
		for _, q := range ch.Questions {
			a, err := line(q + " ")
			if err != nil {
				return Response{}, err
			}
			r.Answers = append(r.Answers, a)
		}
		return r, nil
	case methodAppNotification:
		_, err := line("Approve the sign-in request in the Authenticator app, then press Enter. ")
		return Response{}, err
	case methodAppCode:
		c, err := line("Enter the code shown in the Authenticator app: ")
		return Response{Code: c}, err
	}
	c, err := line(fmt.Sprintf("Enter the code sent by %s to %s: ", ch.Method, ch.Contact))
	return Response{Code: c}, err
}

// errNoCodeSource is returned when a gate needs a code and no source was
// given.
var errNoCodeSource = errors.New("a verification gate needs a code, and the client has no CodeSource (WithCodeSource)")
