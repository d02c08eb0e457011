package client_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/tlsalert"
)

// legacyServer is a TLS server from before TLS 1.3 that speaks only TLS
// 1.0: it ignores supported_versions and answers any ClientHello with a
// TLS 1.0 ServerHello, so the client is the side that refuses. (A Go
// server reads supported_versions and refuses itself; old stacks do not.)
func legacyServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	hello := []byte{
		0x16, 0x03, 0x01, 0x00, 0x2a, // handshake record, TLS 1.0, 42 bytes
		0x02, 0x00, 0x00, 0x26, // ServerHello, 38 bytes
		0x03, 0x01, // TLS 1.0
	}
	hello = append(hello, make([]byte, 32)...)    // random
	hello = append(hello, 0x00, 0xc0, 0x09, 0x00) // no session id, ECDHE-ECDSA-AES128-SHA, no compression
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil { // the ClientHello
					return
				}
				if _, err := c.Write(hello); err != nil {
					return
				}
				// Nothing more to send: a client that accepts TLS 1.0
				// (the diagnosis's probe) sees the end at once.
				_ = c.(*net.TCPConn).CloseWrite()
				_, _ = io.Copy(io.Discard, c) // the client's alert, then its close
			}()
		}
	}()
	return ln.Addr().String()
}

// TestClientRefusesOldServerVersion: the version the server chose is read
// from its ServerHello, since Go reports its refusal only as text.
func TestClientRefusesOldServerVersion(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	l.net.add(mock.PortalHost+":443", legacyServer(t))
	res := l.run(t, profile())
	assert.Equal(t, client.CauseTLSVersion, res.Cause, "%s", res)
	assert.Equal(t, client.StepPage, res.Step)
	var te *client.TLSError
	require.ErrorAs(t, res.Err, &te)
	assert.Equal(t, uint16(0x0301), te.ServerVersion)
	assert.Equal(t, uint16(0x0303), te.MinVersion)
	_, isAlert := tlsalert.FromError(res.Err)
	assert.False(t, isAlert, "no alert came from the server: the client refused")
}

// TestNoSecretsRecorded: a run through an NTLM proxy logs everything at
// debug level (client, service, proxy), and neither the logs, the
// result, nor the proxy's journal holds the proxy password, the new
// password or a verification code. A failed run's error does not either.
func TestNoSecretsRecorded(t *testing.T) {
	t.Parallel()
	for _, schemes := range [][]string{{proxy.SchemeNTLM}, {proxy.SchemeBasic}} {
		l := newLab(t, withProxy(authenticate()), withAuthSchemes(schemes...))
		p := profile(func(p *client.Profile) { p.Proxy.PerUser = viaProxy(); p.Credentials = creds() })
		res := l.run(t, p)
		assertSuccess(t, res)
		bad := l.run(t, profile(func(p *client.Profile) {
			p.Proxy.PerUser = viaProxy()
			p.Credentials = creds()
			p.Credentials.Password = "Wr0ng-Pa55word"
		}))
		require.Equal(t, client.CauseProxyAuthRequired, bad.Cause)

		var record strings.Builder
		record.WriteString(l.logs.String())
		for _, r := range []*client.Result{res, bad} {
			b, err := json.Marshal(r)
			require.NoError(t, err)
			record.Write(b)
			record.WriteString(r.String())
		}
		b, err := json.Marshal(l.proxy.Journal().Entries())
		require.NoError(t, err)
		record.Write(b)
		secrets := []string{proxyPassword, "Wr0ng-Pa55word", strongPassword}
		for _, m := range l.svc.Outbox().Messages("adele@contoso.com") {
			secrets = append(secrets, m.Code)
		}
		require.Greater(t, len(secrets), 3, "the flow sent a code")
		for _, s := range secrets {
			assert.NotContains(t, record.String(), s)
		}
		assert.Contains(t, record.String(), "sspr flow ended", "the client did log")
	}
}

// TestPrompt answers challenges from a person's input.
func TestPrompt(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	p := &client.Prompt{In: strings.NewReader("123456\nLisbon\nBiscuit\n\n"), Out: &out}
	ctx := context.Background()
	r, err := p.Respond(ctx, client.Challenge{Method: "sms", Contact: "+1 XXXXXXX00"})
	require.NoError(t, err)
	assert.Equal(t, "123456", r.Code)
	r, err = p.Respond(ctx, client.Challenge{Method: "securityQuestions", Questions: []string{"City?", "Pet?"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"Lisbon", "Biscuit"}, r.Answers)
	r, err = p.Respond(ctx, client.Challenge{Method: "appNotification"})
	require.NoError(t, err)
	assert.Empty(t, r)
	_, err = p.Respond(ctx, client.Challenge{Method: "email", Contact: "a***@contoso.com"})
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, "Enter the code sent by sms to +1 XXXXXXX00: City? Pet? Approve the sign-in request in the Authenticator app, then press Enter. Enter the code sent by email to a***@contoso.com: ", out.String())
}

// TestNoCodeSource: a gate without a code source ends the flow there.
func TestNoCodeSource(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c, err := client.New(profile(), client.WithRoots(l.auth.Pool()), client.WithDialer(l.net.workstation),
		client.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	res := c.Run(context.Background())
	assert.Equal(t, client.OutcomeCouldNotVerify, res.Outcome)
	assert.Equal(t, client.StepVerify, res.Step)
	assert.Error(t, res.Err)
	assert.Contains(t, res.Error, "no CodeSource")
}
