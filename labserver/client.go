package labserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
)

// Client is the admin API's typed Go client. Its zero HTTP means
// http.DefaultClient's transport without a proxy.
type Client struct {
	// BaseURL is the admin address, "http://127.0.0.1:PORT".
	BaseURL string
	// Token is sent as a bearer token when set.
	Token string
	// HTTP is the client to use (nil: a client that never uses a proxy).
	HTTP *http.Client
}

// APIError is an error answer of the admin API.
type APIError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("admin API: %d: %s (field %s)", e.Status, e.Message, e.Field)
	}
	return fmt.Sprintf("admin API: %d: %s", e.Status, e.Message)
}

var directClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = directClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Status != 0 {
			return &APIError{Status: eb.Error.Status, Message: eb.Error.Message, Field: eb.Error.Field}
		}
		return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return nil
	}
	return json.Unmarshal(data, out)
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v) // the API's request types always marshal
	return bytes.NewReader(b)
}

// State returns the served lab's state.
func (c *Client) State(ctx context.Context) (*State, error) {
	var st State
	return &st, c.do(ctx, http.MethodGet, APIPrefix+"/state", "", nil, &st)
}

// Scenarios lists the built-in scenarios.
func (c *Client) Scenarios(ctx context.Context) ([]ScenarioInfo, error) {
	var out []ScenarioInfo
	return out, c.do(ctx, http.MethodGet, APIPrefix+"/scenarios", "", nil, &out)
}

// SwitchScenario switches the lab to a built-in scenario.
func (c *Client) SwitchScenario(ctx context.Context, name string) (*State, error) {
	var st State
	return &st, c.do(ctx, http.MethodPut, APIPrefix+"/scenario", "application/json", jsonBody(map[string]string{"name": name}), &st)
}

// UploadScenario switches the lab to a scenario file's content (YAML).
func (c *Client) UploadScenario(ctx context.Context, yaml []byte) (*State, error) {
	var st State
	return &st, c.do(ctx, http.MethodPut, APIPrefix+"/scenario", "application/yaml", bytes.NewReader(yaml), &st)
}

// Journal returns the decisions after seq since whose target contains
// host ("" for all).
func (c *Client) Journal(ctx context.Context, since int64, host string) (*Journal, error) {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if host != "" {
		q.Set("host", host)
	}
	var j Journal
	return &j, c.do(ctx, http.MethodGet, APIPrefix+"/journal?"+q.Encode(), "", nil, &j)
}

// Rules returns the proxy's rules and default action.
func (c *Client) Rules(ctx context.Context) (*RuleSet, error) {
	var rs RuleSet
	return &rs, c.do(ctx, http.MethodGet, APIPrefix+"/proxy/rules", "", nil, &rs)
}

// SetRules replaces the proxy's rules and default action.
func (c *Client) SetRules(ctx context.Context, rs RuleSet) (*RuleSet, error) {
	if rs.Rules == nil {
		rs.Rules = []proxy.Rule{} // no rules: everything to the default action
	}
	var out RuleSet
	return &out, c.do(ctx, http.MethodPut, APIPrefix+"/proxy/rules", "application/json", jsonBody(rs), &out)
}

// RootPEM returns a root's certificate: "trusted", "untrusted" or
// "interception".
func (c *Client) RootPEM(ctx context.Context, name string) ([]byte, error) {
	var b []byte
	return b, c.do(ctx, http.MethodGet, APIPrefix+"/roots/"+url.PathEscape(name)+".pem", "", nil, &b)
}

// CaptchaAnswer returns the text of a CAPTCHA the portal shows as a
// picture (its id is in the page: the picture's URL).
func (c *Client) CaptchaAnswer(ctx context.Context, id string) (string, error) {
	var a struct {
		Answer string `json:"answer"`
	}
	err := c.do(ctx, http.MethodGet, APIPrefix+"/captchas/"+url.PathEscape(id), "", nil, &a)
	return a.Answer, err
}

// Outbox returns the messages the service sent to upn ("" for all).
func (c *Client) Outbox(ctx context.Context, upn string) ([]mock.Message, error) {
	var out []mock.Message
	return out, c.do(ctx, http.MethodGet, APIPrefix+"/service/outbox?upn="+url.QueryEscape(upn), "", nil, &out)
}

// Audit returns the audit entries of upn ("" for all).
func (c *Client) Audit(ctx context.Context, upn string) ([]mock.AuditEntry, error) {
	var out []mock.AuditEntry
	return out, c.do(ctx, http.MethodGet, APIPrefix+"/service/audit?upn="+url.QueryEscape(upn), "", nil, &out)
}

// SetFault sets a service step's fault (page, captcha, begin, send,
// verify, password).
func (c *Client) SetFault(ctx context.Context, step string, f mock.StepFault) error {
	return c.do(ctx, http.MethodPut, APIPrefix+"/service/faults/"+url.PathEscape(step), "application/json", jsonBody(f), nil)
}

// ClearFault removes a service step's fault.
func (c *Client) ClearFault(ctx context.Context, step string) error {
	return c.do(ctx, http.MethodDelete, APIPrefix+"/service/faults/"+url.PathEscape(step), "", nil, nil)
}

// AdvanceClock moves the service's clock on by d ("25h").
func (c *Client) AdvanceClock(ctx context.Context, d string) error {
	return c.do(ctx, http.MethodPost, APIPrefix+"/service/clock", "application/json", jsonBody(map[string]string{"advance": d}), nil)
}

// Approve answers upn's pending authenticator notification (the newest,
// or the flow's when flow is set); Deny refuses it.
func (c *Client) Approve(ctx context.Context, upn, flow string) error {
	return c.notification(ctx, upn, flow, "approve")
}

// Deny refuses upn's pending authenticator notification.
func (c *Client) Deny(ctx context.Context, upn, flow string) error {
	return c.notification(ctx, upn, flow, "deny")
}

func (c *Client) notification(ctx context.Context, upn, flow, verb string) error {
	if upn == "" {
		return errors.New("approve/deny: no user")
	}
	path := APIPrefix + "/service/authenticator/" + url.PathEscape(upn) + "/" + verb
	if flow != "" {
		path += "?flow=" + url.QueryEscape(flow)
	}
	return c.do(ctx, http.MethodPost, path, "", nil, nil)
}

// Codes is a client.CodeSource that answers from the served lab: codes
// from its outbox (the message of the challenge's flow), the
// authenticator app's current code, and approvals of its notifications.
// Security questions it cannot answer: the admin API never shows answers.
func (c *Client) Codes() client.CodeSource {
	return client.CodeFunc(func(ctx context.Context, ch client.Challenge) (client.Response, error) {
		switch ch.Method {
		case string(mock.MethodEmail), string(mock.MethodSMS), string(mock.MethodVoice):
			var msgs []mock.Message
			q := url.Values{"upn": {ch.UserID}, "correlationId": {ch.CorrelationID}}
			if err := c.do(ctx, http.MethodGet, APIPrefix+"/service/outbox?"+q.Encode(), "", nil, &msgs); err != nil {
				return client.Response{}, err
			}
			for _, m := range slices.Backward(msgs) {
				if m.CorrelationID == ch.CorrelationID && string(m.Channel) == ch.Method {
					return client.Response{Code: m.Code}, nil
				}
			}
			return client.Response{}, fmt.Errorf("no %s message for %s in flow %s", ch.Method, ch.UserID, ch.CorrelationID)
		case string(mock.MethodAppCode):
			var a struct {
				Code string `json:"code"`
			}
			err := c.do(ctx, http.MethodGet, APIPrefix+"/service/authenticator/"+url.PathEscape(ch.UserID), "", nil, &a)
			return client.Response{Code: a.Code}, err
		case string(mock.MethodAppNotification):
			return client.Response{}, c.Approve(ctx, ch.UserID, ch.FlowToken)
		}
		return client.Response{}, fmt.Errorf("%s: the served lab's admin API does not answer this method", ch.Method)
	})
}
