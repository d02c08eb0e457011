package labserver_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
)

// served is a lab served on loopback for a test: its proxy's address, the
// admin API (an httptest server over Handler), its typed client and the
// root's PEM file.
type served struct {
	srv     *labserver.Server
	proxy   string
	admin   *httptest.Server
	api     *labserver.Client
	rootPEM string
}

func serve(t *testing.T, cfg labserver.Config) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.ProxyListener = ln
	if cfg.Authority == nil {
		a, err := pki.New()
		require.NoError(t, err)
		cfg.Authority = a
	}
	srv, err := labserver.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	rootPEM := filepath.Join(t.TempDir(), "root.pem")
	require.NoError(t, cfg.Authority.Root().WritePEM(rootPEM))
	admin := httptest.NewServer(srv.Handler(labserver.ConnectLines(ln.Addr(), "http://admin/", rootPEM)))
	t.Cleanup(admin.Close)
	return &served{srv: srv, proxy: ln.Addr().String(), admin: admin, rootPEM: rootPEM,
		api: &labserver.Client{BaseURL: admin.URL, Token: cfg.Token}}
}

// curl runs curl through the served proxy and returns the HTTP status it
// got (and for CONNECT refusals, the proxy's).
func (s *served) curl(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, _, err := testtool.Run(t, "curl", append([]string{"-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code} %{http_connect}",
		"-x", "http://" + s.proxy, "--cacert", s.rootPEM}, append(args, url)...)...)
	require.NoError(t, err)
	return strings.TrimSpace(out)
}

// TestServeDefaultScenarioWithCurl: curl reaches the portal through the
// served proxy without credentials (the SSPR hosts are exempt), and is
// asked for them anywhere else; both decisions are in the journal.
func TestServeDefaultScenarioWithCurl(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "curl")
	s := serve(t, labserver.Config{})
	assert.Equal(t, "200 200", s.curl(t, "https://"+mock.PortalHost+"/n/passwordreset"), "CONNECT 200, then the page")
	assert.Equal(t, "407 000", s.curl(t, "http://other.example/"), "everything else needs credentials")
	ctx := context.Background()
	j, err := s.api.Journal(ctx, 0, "")
	require.NoError(t, err)
	require.Len(t, j.Entries, 2)
	// A tunnel is journaled when it ends, so the two may come either way.
	byTarget := map[string]labserver.Record{}
	for i, r := range j.Entries {
		assert.Equal(t, int64(i+1), r.Seq)
		assert.Equal(t, labserver.DefaultScenario, r.Scenario)
		byTarget[r.Target] = r
	}
	assert.Equal(t, "sspr hosts", byTarget[mock.PortalHost+":443"].Rule)
	assert.Equal(t, proxy.ResultOK, byTarget[mock.PortalHost+":443"].Result)
	assert.Equal(t, proxy.ResultAuthRequired, byTarget["other.example:80"].Result)
	j, err = s.api.Journal(ctx, 1, "")
	require.NoError(t, err)
	assert.Len(t, j.Entries, 1, "since=1 gives what came after")
	assert.Equal(t, int64(2), j.Next)
	st, err := s.api.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, labserver.DefaultScenario, st.Scenario.Name)
	assert.Equal(t, s.proxy, st.Proxy.Listen)
	assert.Equal(t, []string{`CONTOSO\alice`}, st.Proxy.Users, "names only")
	assert.NotContains(t, mustJSON(t, st), "Pr0xy-S3cret!", "no password in the state")
}

// TestServeOpenSSL: openssl s_client reaches the portal through the
// served proxy and verifies its certificate against the lab's root.
func TestServeOpenSSL(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	s := serve(t, labserver.Config{})
	out, _, err := testtool.Run(t, "openssl", "s_client", "-proxy", s.proxy, "-connect", mock.PortalHost+":443",
		"-servername", mock.PortalHost, "-CAfile", s.rootPEM, "-verify_return_error", "-brief")
	require.NoError(t, err)
	assert.Contains(t, out, "Verification: OK")
}

// TestServeGoClient: the Windows-like client, outside the lab, runs the
// whole flow through the served proxy, with its codes from the admin API.
func TestServeGoClient(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	c, err := client.New(client.Profile{
		OS: client.Windows10, Account: client.AccountDefaultUser1, UserID: "adele@contoso.com", NewPassword: "Vq7#Lmz2!Rtx",
		Proxy:      client.ProxySources{PerMachine: &client.ProxySetting{Server: s.proxy}},
		Revocation: client.RevocationHardFail,
	}, client.WithRoots(s.srv.Authority().Pool()), client.WithCodeSource(s.api.Codes()))
	require.NoError(t, err)
	res := c.Run(context.Background())
	require.Equal(t, client.OutcomeSuccess, res.Outcome, "%s", res)
	audit, err := s.api.Audit(context.Background(), "adele@contoso.com")
	require.NoError(t, err)
	assert.NotEmpty(t, audit)
}

// TestSwitchScenario: the proxy keeps its address across a switch; new
// connections meet the new scenario's rules, the journal goes on, and
// tunnels of the old lab end with it. Bad input changes nothing.
func TestSwitchScenario(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	ctx := context.Background()

	old := connect(t, s.proxy, mock.CDNHost+":443")
	st, err := s.api.SwitchScenario(ctx, "cdn-blocked")
	require.NoError(t, err)
	assert.Equal(t, "cdn-blocked", st.Scenario.Name)
	assert.Equal(t, s.proxy, st.Proxy.Listen, "the same listener")
	_, err = old.ReadByte()
	assert.Error(t, err, "the old lab's tunnel ended with it")

	status := connectStatus(t, s.proxy, mock.CDNHost+":443")
	assert.Equal(t, http.StatusForbidden, status, "the new scenario blocks the CDN")
	j, err := s.api.Journal(ctx, 0, mock.CDNHost)
	require.NoError(t, err)
	require.Len(t, j.Entries, 2)
	assert.Equal(t, labserver.DefaultScenario, j.Entries[0].Scenario)
	assert.Equal(t, "cdn-blocked", j.Entries[1].Scenario)
	assert.Equal(t, j.Entries[0].Seq+1, j.Entries[1].Seq, "numbered across the switch")

	_, err = s.api.SwitchScenario(ctx, "no-such-scenario")
	var ae *labserver.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusNotFound, ae.Status)
	_, err = s.api.UploadScenario(ctx, []byte("name: bad\ndescription: d\nreference: r\nclient: {os: windows10, acount: x}\nexpect: {outcome: success}\n"))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.Status)
	assert.Contains(t, ae.Message, "uploaded scenario:4")
	assert.Contains(t, ae.Message, "acount")
	st, err = s.api.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, "cdn-blocked", st.Scenario.Name, "a refused switch keeps the lab")

	yaml, err := os.ReadFile("../scenarios/catalog/happy-one-gate.yaml")
	require.NoError(t, err)
	st, err = s.api.UploadScenario(ctx, yaml)
	require.NoError(t, err)
	assert.Equal(t, "happy-one-gate", st.Scenario.Name)
	assert.True(t, st.Proxy.Open, "a scenario without a proxy is served through an open one")
	assert.Equal(t, http.StatusOK, connectStatus(t, s.proxy, mock.CDNHost+":443"))
}

// TestSetRulesThroughTheAPI: new rules apply at once, the lab's state
// stays, and bad rules are a 422 naming the field.
func TestSetRulesThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	ctx := context.Background()
	rs, err := s.api.SetRules(ctx, labserver.RuleSet{Default: proxy.Allow, Rules: []proxy.Rule{{Name: "no cdn", Hosts: []string{mock.CDNHost}, Action: proxy.Deny}}})
	require.NoError(t, err)
	require.Len(t, rs.Rules, 1)
	assert.Equal(t, http.StatusForbidden, connectStatus(t, s.proxy, mock.CDNHost+":443"))
	assert.Equal(t, http.StatusOK, connectStatus(t, s.proxy, mock.PortalHost+":443"))

	_, err = s.api.SetRules(ctx, labserver.RuleSet{Rules: []proxy.Rule{{Hosts: []string{"a..b"}, Action: proxy.Deny}}})
	var ae *labserver.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.Status)
	assert.Equal(t, "rules[0].hosts[0]", ae.Field)
	got, err := s.api.Rules(ctx)
	require.NoError(t, err)
	assert.Equal(t, "no cdn", got.Rules[0].Name, "the rules in force stay")
}

// TestAdminAPI: roots, the service's admin API passed through, errors as
// JSON, and the token.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{Token: "s3cret-token"})
	ctx := context.Background()
	for _, name := range []string{"trusted", "untrusted", "interception"} {
		b, err := s.api.RootPEM(ctx, name)
		require.NoError(t, err, name)
		block, _ := pem.Decode(b)
		require.NotNil(t, block, name)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		assert.True(t, cert.IsCA, name)
	}
	capt, err := s.srv.Lab().Service.NewCaptcha()
	require.NoError(t, err)
	answer, err := s.api.CaptchaAnswer(ctx, capt.ID)
	require.NoError(t, err)
	assert.Equal(t, capt.Challenge, answer)
	_, err = s.api.CaptchaAnswer(ctx, "nope")
	var nf *labserver.APIError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, http.StatusNotFound, nf.Status)
	require.NoError(t, s.api.SetFault(ctx, "begin", mock.StepFault{Status: 503}))
	require.NoError(t, s.api.AdvanceClock(ctx, "1h"))
	msgs, err := s.api.Outbox(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, msgs)

	for path, want := range map[string]int{"/api/v1/state": 401, "/api/v1/nothing": 401} {
		resp, err := http.Get(s.admin.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
	anon := &labserver.Client{BaseURL: s.admin.URL}
	_, err = anon.State(ctx)
	var ae *labserver.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.Status)
	resp, err := http.Get(s.admin.URL + "/api/v1/nothing?token=s3cret-token")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"error": {"status": 404, "message": "no such admin resource: GET /api/v1/nothing"}}`, string(body))
	req, _ := http.NewRequest(http.MethodDelete, s.admin.URL+"/api/v1/state?token=s3cret-token", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestAdminNotThroughTheProxy: the admin API is not reachable through
// the lab's proxy, whose dialer knows the lab's hosts only.
func TestAdminNotThroughTheProxy(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	_, err := s.api.SetRules(context.Background(), labserver.RuleSet{Default: proxy.Allow})
	require.NoError(t, err)
	c, err := net.Dial("tcp", s.proxy)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	host := strings.TrimPrefix(s.admin.URL, "http://")
	_, err = io.WriteString(c, "GET "+s.admin.URL+"/api/v1/state HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("X-Squid-Error"), "the proxy's refusal, not the API's answer")
}

// TestJournalStream: the event stream sends the backlog, then each
// decision as it is made, with its seq as the event id.
func TestJournalStream(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	// A refusal is journaled at once (a tunnel only when it ends).
	assert.Equal(t, http.StatusProxyAuthRequired, connectStatus(t, s.proxy, "other.example:443"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin.URL+"/api/v1/journal/stream?host=aspnetcdn", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ": live\n", line, "nothing in the backlog matches the host filter")
	_, _ = br.ReadString('\n')
	assert.Equal(t, http.StatusOK, connectStatus(t, s.proxy, mock.CDNHost+":443"))
	var event []string
	for len(event) < 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		event = append(event, strings.TrimSpace(line))
	}
	assert.Equal(t, "id: 2", event[0])
	assert.Equal(t, "event: entry", event[1])
	assert.Contains(t, event[2], `"target":"ajax.aspnetcdn.com:443"`)
}

// connect opens a tunnel through the proxy and returns its reader.
func connect(t *testing.T, proxyAddr, target string) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return br
}

// connectStatus sends a CONNECT and returns the proxy's status; the
// tunnel, if any, is closed at once.
func connectStatus(t *testing.T, proxyAddr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	return resp.StatusCode
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestServedJournalHasFinalEntries: the served journal numbers final
// decisions only: a tunnel under way is in the running lab's journal, as
// open, and reaches the served journal once, when it ends.
func TestServedJournalHasFinalEntries(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	c, err := net.Dial("tcp", s.proxy)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "CONNECT "+mock.PortalHost+":443 HTTP/1.1\r\nHost: "+mock.PortalHost+":443\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the SSPR hosts need no credentials")

	es := s.srv.Lab().Journal().Entries()
	require.Len(t, es, 1)
	assert.Equal(t, proxy.ResultOpen, es[0].Result, "the lab's journal shows the tunnel under way")
	ctx := context.Background()
	j, err := s.api.Journal(ctx, 0, "")
	require.NoError(t, err)
	assert.Empty(t, j.Entries, "the served journal has final decisions only")

	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		j, err = s.api.Journal(ctx, 0, "")
		return err == nil && len(j.Entries) > 0
	}, 10*time.Second, time.Millisecond)
	require.Len(t, j.Entries, 1, "numbered once")
	assert.Equal(t, int64(1), j.Entries[0].Seq)
	assert.Equal(t, proxy.ResultOK, j.Entries[0].Result)
}

// TestAdminGuards: what a web page or a careless request may not do.
// Without a token, only a loopback Host is answered (DNS rebinding) and a
// cross-origin write is refused (CSRF); with one, the dashboard's files
// load without it while the API wants it; bodies are strict.
func TestAdminGuards(t *testing.T) {
	t.Parallel()
	open := serve(t, labserver.Config{})
	do := func(method, url, ct, body string, h map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(t, err)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		for k, v := range h {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	state := open.admin.URL + "/api/v1/state"
	code, body := do("GET", state, "", "", map[string]string{"Host": "attacker.example"})
	assert.Equal(t, http.StatusForbidden, code, body)
	code, _ = do("GET", state, "", "", map[string]string{"Host": "localhost:1"})
	assert.Equal(t, http.StatusOK, code)
	code, body = do("POST", open.admin.URL+"/api/v1/service/authenticator/adele@contoso.com/approve", "text/plain", "x",
		map[string]string{"Origin": "https://attacker.example"})
	assert.Equal(t, http.StatusForbidden, code, body)

	rules := open.admin.URL + "/api/v1/proxy/rules"
	for name, tc := range map[string]struct {
		ct, body string
		want     int
	}{
		"not JSON":      {"text/plain", `{"rules": []}`, http.StatusUnsupportedMediaType},
		"null":          {"application/json", `null`, http.StatusUnprocessableEntity},
		"no rules":      {"application/json", `{"default": "allow"}`, http.StatusUnprocessableEntity},
		"trailing data": {"application/json", `{"rules": []} garbage`, http.StatusBadRequest},
	} {
		code, body := do("PUT", rules, tc.ct, tc.body, nil)
		assert.Equal(t, tc.want, code, "%s: %s", name, body)
	}
	code, body = do("PUT", rules, "application/json", `{"rules": [{"hosts": ["a..b"], "action": "deny"}]}`, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.NotContains(t, body, "hosts[0]: hosts[0]", "the path once")
	code, _ = do("PUT", open.admin.URL+"/api/v1/scenario", "application/json", `{"name": "cdn-blocked"} garbage`, nil)
	assert.Equal(t, http.StatusBadRequest, code)

	guarded := serve(t, labserver.Config{Token: "t0ken"})
	for _, path := range []string{"/", "/ui/dashboard.js", "/ui/dashboard.css", "/favicon.ico"} {
		code, _ := do("GET", guarded.admin.URL+path, "", "", nil)
		assert.Equal(t, http.StatusOK, code, "%s: the dashboard's files hold no secret", path)
	}
	code, _ = do("GET", guarded.admin.URL+"/api/v1/state", "", "", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
}

// TestStreamLimit: at most MaxStreams journal streams at once; one more
// gets 503 and a word on what to do.
func TestStreamLimit(t *testing.T) {
	t.Parallel()
	s := serve(t, labserver.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range labserver.MaxStreams {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.admin.URL+"/api/v1/journal/stream", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, err := http.Get(s.admin.URL + "/api/v1/journal/stream")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), "journal streams are open already")
}
