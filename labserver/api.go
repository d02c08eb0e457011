package labserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/internal/yamlfile"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
	"github.com/egresslab/egresslab/vhost"
)

// APIPrefix is the admin API's versioned path.
const APIPrefix = "/api/v1"

// maxBody bounds what the admin API reads of a request body.
const maxBody = 1 << 20

// Handler is the admin API (under APIPrefix) and the dashboard (at /). It
// is served on its own listener, never through the lab's proxy (whose
// dialer reaches the lab's hosts only).
//
//	GET    /api/v1/state                   the scenario, hosts, proxy and journal counters (State)
//	GET    /api/v1/scenarios               the built-in scenarios ([]ScenarioInfo)
//	PUT    /api/v1/scenario                switch: {"name": "..."} (JSON), or a scenario file (application/yaml)
//	GET    /api/v1/journal?since=&host=    decisions after seq since (Journal)
//	GET    /api/v1/journal/stream?since=&host=   the same as server-sent events (event "entry", id = seq)
//	GET    /api/v1/proxy/rules             {"default", "rules"}
//	PUT    /api/v1/proxy/rules             replace them (RuleSet)
//	GET    /api/v1/roots/{trusted|untrusted|interception}.pem
//	GET    /api/v1/captchas/{id}           {"answer"}: the text of a CAPTCHA the portal shows as a picture
//	GET    /api/v1/connect                 the lines a person needs to point a client at the lab (Connect)
//	*      /api/v1/service/...             the SSPR service's admin API (mock.Service.AdminHandler):
//	                                       outbox, audit, captchas, clock, faults/{step}, authenticator/{upn}/approve, ...
//
// Errors are {"error": {"status", "message", "field"}}.
func (s *Server) Handler(c Connect) http.Handler {
	r := mux.NewRouter()
	api := func(path string, h http.HandlerFunc, methods ...string) {
		r.HandleFunc(APIPrefix+path, h).Methods(methods...)
	}
	api("/state", s.getState, http.MethodGet)
	api("/scenarios", s.getScenarios, http.MethodGet)
	api("/scenario", s.putScenario, http.MethodPut)
	api("/journal", s.getJournal, http.MethodGet)
	api("/journal/stream", s.streamJournal, http.MethodGet)
	api("/proxy/rules", s.getRules, http.MethodGet)
	api("/proxy/rules", s.putRules, http.MethodPut)
	api("/roots/{name}.pem", s.getRoot, http.MethodGet)
	api("/captchas/{id}", s.getCaptcha, http.MethodGet)
	api("/connect", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, c) }, http.MethodGet)
	r.PathPrefix(APIPrefix + "/service/").HandlerFunc(s.service)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such admin resource: %s %s", r.Method, r.URL.Path), "")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s is not allowed on %s", r.Method, r.URL.Path), "")
	})
	dashboard(r)
	return s.authorize(r)
}

// authorize guards the admin API:
//   - with a token, every API request must carry it; the dashboard's own
//     files (/, /ui/, /favicon.ico) hold no secret and are served without
//     it, so that the page can load and then call the API with the token
//     from its URL;
//   - without one (loopback), a request must name a loopback host in its
//     Host header (a web page whose name was rebound to 127.0.0.1 cannot
//     drive the API), and a browser's cross-origin write is refused
//     (Origin must be the admin address itself).
func (s *Server) authorize(h http.Handler) http.Handler {
	want := []byte(s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
				writeError(w, http.StatusForbidden, fmt.Errorf("a request from the web page %q may not change the lab", origin), "")
				return
			}
		}
		if !strings.HasPrefix(r.URL.Path, APIPrefix+"/") {
			h.ServeHTTP(w, r) // the dashboard's files
			return
		}
		if len(want) == 0 {
			if !loopbackHost(r.Host) {
				writeError(w, http.StatusForbidden, fmt.Errorf("the Host header %q: without a token the admin API answers only to a loopback address or localhost", r.Host), "")
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		got := r.URL.Query().Get("token")
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = b
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="egresslab admin"`)
			writeError(w, http.StatusUnauthorized, errors.New("the admin API needs the token printed at start (Authorization: Bearer TOKEN, or ?token=)"), "")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine by a
// loopback address or "localhost".
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// errorBody is every error's shape.
type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, err error, field string) {
	var b errorBody
	b.Error.Status, b.Error.Message, b.Error.Field = status, err.Error(), field
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// State is what GET /api/v1/state answers.
type State struct {
	// Role is the part of the lab the server serves (lab, services,
	// proxy): a services node has no proxy, a proxy node no hosts.
	Role     Role         `json:"role"`
	Scenario ScenarioInfo `json:"scenario"`
	// Since is when the scenario was switched to; Started when the server
	// started.
	Since   time.Time   `json:"since"`
	Started time.Time   `json:"started"`
	Proxy   ProxyState  `json:"proxy"`
	Hosts   []HostState `json:"hosts,omitempty"`
	Journal struct {
		// Seq is the last decision's number; Kept how many are in memory;
		// Dropped how many fell out of the window; WriterDropped how many
		// lines the journal file (--journal) missed because its reader
		// fell 10,000 lines behind.
		Seq           int64 `json:"seq"`
		Kept          int   `json:"kept"`
		Dropped       int64 `json:"dropped"`
		WriterDropped int64 `json:"writerDropped,omitempty"`
	} `json:"journal"`
}

// ScenarioInfo names a scenario.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Reference   string `json:"reference,omitempty"`
	File        string `json:"file,omitempty"`
}

// ProxyState is the proxy as outside clients see it.
type ProxyState struct {
	// Listen is the address clients connect to; Name the proxy's name on
	// the lab's network (what client profiles name).
	Listen string `json:"listen"`
	Name   string `json:"name"`
	// Open: the scenario has no proxy, so an open one (allow everything)
	// stands for the direct path.
	Open    bool         `json:"open,omitempty"`
	Schemes []string     `json:"authSchemes,omitempty"`
	Users   []string     `json:"authUsers,omitempty"` // names only, never a password
	Default proxy.Action `json:"default"`
	Rules   []proxy.Rule `json:"rules"`
}

// HostState is one of the lab's hosts.
type HostState struct {
	Name string `json:"name"`
	Port int    `json:"port"`
	// TLS is the version range ("TLS 1.2-1.3"), Certificate its fault
	// ("" for none); both empty on plain-HTTP ports.
	TLS         string `json:"tls,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	// Addr is the host's virtual address on the lab's network.
	Addr string `json:"addr,omitempty"`
}

func (s *Server) state() State {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	var st State
	sc := cur.sc
	st.Scenario = ScenarioInfo{Name: sc.Name, Description: strings.TrimSpace(sc.Description), Reference: sc.Reference, File: sc.File}
	st.Since, st.Started = cur.since, s.started
	st.Role = s.cfg.Role
	if cur.lab.Proxy != nil {
		rules, def := cur.lab.Proxy.Rules()
		st.Proxy = ProxyState{Listen: s.ProxyAddr().String(), Name: cur.lab.ProxyAddr, Open: cur.openLab, Rules: rules, Default: def}
	}
	if px := sc.Lab.Proxy; px != nil && px.Auth != nil && cur.lab.Proxy != nil {
		st.Proxy.Schemes = px.Auth.Schemes
		if len(st.Proxy.Schemes) == 0 {
			st.Proxy.Schemes = []string{proxy.SchemeBasic}
		}
		for _, u := range px.Auth.Users {
			name := u.Name
			if u.Domain != "" {
				name = u.Domain + `\` + u.Name
			}
			st.Proxy.Users = append(st.Proxy.Users, name)
		}
	}
	addr := func(h string) string {
		if a, err := cur.lab.LookupNetIP(context.Background(), "ip4", h); err == nil && len(a) > 0 {
			return a[0].String()
		}
		return ""
	}
	if cur.lab.Service == nil {
		s.feed.mu.Lock()
		st.Journal.Seq, st.Journal.Kept, st.Journal.Dropped, st.Journal.WriterDropped = s.feed.seq, len(s.feed.recs), s.feed.dropped, s.feed.writerDropped
		s.feed.mu.Unlock()
		return st // a proxy node: its hosts are the services node's
	}
	for _, h := range harness.TLSHosts {
		hs := HostState{Name: h, Port: 443, TLS: vhost.ServiceRange().String(), Addr: addr(h)}
		if spec, ok := sc.Lab.Hosts[h]; ok {
			if spec.TLS != nil {
				if r, err := vhost.ParseRange(spec.TLS.Min, spec.TLS.Max); err == nil {
					hs.TLS = r.String()
				}
			}
			hs.Certificate = string(spec.Certificate)
		}
		st.Hosts = append(st.Hosts, hs)
	}
	for _, h := range harness.PlainHosts {
		st.Hosts = append(st.Hosts, HostState{Name: h, Port: 80, Addr: addr(h)})
	}
	for _, hp := range sc.OwnHostPorts() {
		h, p, _ := net.SplitHostPort(hp)
		port, _ := strconv.Atoi(p)
		spec := sc.Lab.Hosts[h]
		hs := HostState{Name: h, Port: port, Addr: addr(h), Certificate: string(spec.Certificate)}
		if !spec.Plain {
			hs.TLS = vhost.ServiceRange().String()
			if spec.TLS != nil {
				if r, err := vhost.ParseRange(spec.TLS.Min, spec.TLS.Max); err == nil {
					hs.TLS = r.String()
				}
			}
		}
		st.Hosts = append(st.Hosts, hs)
	}
	s.feed.mu.Lock()
	st.Journal.Seq, st.Journal.Kept, st.Journal.Dropped, st.Journal.WriterDropped = s.feed.seq, len(s.feed.recs), s.feed.dropped, s.feed.writerDropped
	s.feed.mu.Unlock()
	return st
}

func (s *Server) getState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.state())
}

func (s *Server) getScenarios(w http.ResponseWriter, _ *http.Request) {
	cat, err := scenarios.Catalog()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	out := make([]ScenarioInfo, 0, len(cat))
	for _, sc := range cat {
		out = append(out, ScenarioInfo{Name: sc.Name, Description: strings.TrimSpace(sc.Description), Reference: sc.Reference})
	}
	writeJSON(w, http.StatusOK, out)
}

// putScenario switches the lab: {"name": "..."} for a built-in scenario,
// or a scenario file (YAML or JSON by Content-Type), validated whole.
func (s *Server) putScenario(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("reading the body: %w", err), "")
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var sc *scenarios.Scenario
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml":
		if sc, err = scenarios.Parse("uploaded scenario", body); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err, firstField(err))
			return
		}
	case "application/json", "":
		var req struct {
			Name string `json:"name"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err := dec.Decode(&req)
		if err == nil && dec.More() {
			err = errors.New("more after the object")
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("want {\"name\": \"...\"} or a scenario file as application/yaml: %w", err), "")
			return
		}
		if req.Name == "" {
			writeError(w, http.StatusUnprocessableEntity, errors.New("name: required"), "name")
			return
		}
		if sc, err = Builtin(req.Name); err != nil {
			writeError(w, http.StatusNotFound, err, "name")
			return
		}
	default:
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json or application/yaml", ct), "")
		return
	}
	if err := s.Switch(r.Context(), sc); err != nil {
		var inv *InvalidError
		var re *RoleError
		if errors.As(err, &re) {
			writeError(w, http.StatusConflict, err, "")
			return
		}
		if errors.As(err, &inv) {
			writeError(w, http.StatusUnprocessableEntity, err, firstField(err))
			return
		}
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	writeJSON(w, http.StatusOK, s.state())
}

// firstField is the field the first of err's errors names, if any.
func firstField(err error) string {
	var fe *yamlfile.FieldError
	if errors.As(err, &fe) {
		return fe.Path
	}
	var ye *yamlfile.Error
	if errors.As(err, &ye) {
		if path, _, ok := strings.Cut(ye.Msg, ": "); ok && !strings.Contains(path, " ") {
			return path
		}
	}
	return ""
}

// RuleSet is the proxy's access list as the API reads and writes it.
type RuleSet struct {
	Default proxy.Action `json:"default"`
	Rules   []proxy.Rule `json:"rules"`
}

// ruleSetIn is a RuleSet as PUT takes it: rules must be there (an empty
// list is the default action for everything, and must be said).
type ruleSetIn struct {
	Default proxy.Action  `json:"default"`
	Rules   *[]proxy.Rule `json:"rules"`
}

// noPart answers a request for a part of the lab this node does not
// serve (404); it reports whether it did.
func (s *Server) noPart(w http.ResponseWriter, proxyPart bool) bool {
	l := s.Lab()
	switch {
	case proxyPart && l.Proxy == nil:
		writeError(w, http.StatusNotFound, &RoleError{Role: s.cfg.Role, What: "answer for a proxy: it serves the services only"}, "")
		return true
	case !proxyPart && l.Service == nil:
		writeError(w, http.StatusNotFound, &RoleError{Role: s.cfg.Role, What: "answer for the service: it serves the proxy only"}, "")
		return true
	}
	return false
}

func (s *Server) getRules(w http.ResponseWriter, _ *http.Request) {
	if s.noPart(w, true) {
		return
	}
	rules, def := s.Lab().Proxy.Rules()
	writeJSON(w, http.StatusOK, RuleSet{Default: def, Rules: rules})
}

func (s *Server) putRules(w http.ResponseWriter, r *http.Request) {
	if s.noPart(w, true) {
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json", ct), "")
		return
	}
	var in ruleSetIn
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		err = errors.New("more after the rule set")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("want {\"default\": \"deny\", \"rules\": [...]}: %w", err), "")
		return
	}
	if in.Rules == nil {
		writeError(w, http.StatusUnprocessableEntity, errors.New("rules: required (an empty list sends everything to the default action)"), "rules")
		return
	}
	rs := RuleSet{Default: in.Default, Rules: *in.Rules}
	if rs.Default == "" {
		rs.Default = proxy.Deny
	}
	for i := range rs.Rules {
		if err := rs.Rules[i].Validate(); err != nil {
			field := fmt.Sprintf("rules[%d]", i)
			var fe *proxy.FieldError
			if errors.As(err, &fe) {
				field += "." + fe.Field
				err = fe.Err
			}
			writeError(w, http.StatusUnprocessableEntity, fmt.Errorf("%s: %w", field, err), field)
			return
		}
	}
	if err := s.SetRules(rs.Default, rs.Rules); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err, "rules")
		return
	}
	s.getRules(w, r)
}

func (s *Server) getRoot(w http.ResponseWriter, r *http.Request) {
	var pem []byte
	a := s.cfg.Authority
	switch name := mux.Vars(r)["name"]; name {
	case "trusted":
		pem = a.Root().CertPEM()
	case "untrusted":
		ca, err := a.Untrusted()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err, "")
			return
		}
		pem = ca.CertPEM()
	case "interception":
		ic, err := a.Interception()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err, "")
			return
		}
		pem = ic.CA().CertPEM()
	default:
		writeError(w, http.StatusNotFound, fmt.Errorf("no root %q: want trusted, untrusted or interception", name), "")
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="egresslab-`+mux.Vars(r)["name"]+`.pem"`)
	_, _ = w.Write(pem)
}

// getCaptcha gives the answer of a CAPTCHA the portal shows, for
// automation (a browser test types it in).
func (s *Server) getCaptcha(w http.ResponseWriter, r *http.Request) {
	if s.noPart(w, false) {
		return
	}
	id := mux.Vars(r)["id"]
	answer, ok := s.Lab().Service.CaptchaAnswer(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("no CAPTCHA %q in use (unknown, used or expired)", id), "id")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"answer": answer})
}

// Journal is what GET /api/v1/journal answers.
type Journal struct {
	Entries []Record `json:"entries"`
	// Next is the seq to ask for next time (?since=Next).
	Next int64 `json:"next"`
	// Dropped is how many old decisions fell out of the window.
	Dropped int64 `json:"dropped"`
}

func sinceParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		v = r.Header.Get("Last-Event-ID")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("since=%q: want a decision's seq (0 or more)", v)
	}
	return n, nil
}

func (s *Server) getJournal(w http.ResponseWriter, r *http.Request) {
	since, err := sinceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err, "since")
		return
	}
	recs, next, dropped := s.feed.since(since, r.URL.Query().Get("host"))
	writeJSON(w, http.StatusOK, Journal{Entries: recs, Next: next, Dropped: dropped})
}

// MaxStreams bounds the journal streams served at once; more get 503.
const MaxStreams = 32

// streamWriteTimeout ends a stream whose client stops reading, rather
// than keeping what it has not read.
const streamWriteTimeout = 10 * time.Second

// streamJournal sends the decisions after since, then each as it is
// made, as server-sent events (event "entry", id = seq, so that a
// reconnecting EventSource resumes where it was). The kept decisions go
// out a page at a time, never copied whole; a client that does not read
// for streamWriteTimeout is dropped, and at most MaxStreams are served.
func (s *Server) streamJournal(w http.ResponseWriter, r *http.Request) {
	since, err := sinceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err, "since")
		return
	}
	if n := s.streams.Add(1); n > MaxStreams {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("%d journal streams are open already (the most at once): close one, or poll %s/journal", MaxStreams, APIPrefix), "")
		return
	}
	defer s.streams.Add(-1)
	host := r.URL.Query().Get("host")
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(rec Record) error {
		if rec.Seq <= since || !matches(rec, host) {
			return nil
		}
		since = rec.Seq
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		b, _ := json.Marshal(rec)
		_, err := fmt.Fprintf(w, "id: %d\nevent: entry\ndata: %s\n\n", rec.Seq, b)
		return err
	}
	// The kept decisions, a page at a time; then subscribe for the rest
	// (and the few made meanwhile, which subscribe returns).
	for {
		recs, last, done := s.feed.page(since, "", 256)
		for _, rec := range recs {
			if send(rec) != nil {
				return
			}
		}
		since = max(since, last)
		if done {
			break
		}
	}
	backlog, ch, cancel := s.feed.subscribe(since)
	defer cancel()
	for _, rec := range backlog {
		if send(rec) != nil {
			return
		}
	}
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	_, _ = io.WriteString(w, ": live\n\n")
	if rc.Flush() != nil {
		return
	}
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case rec, ok := <-ch:
			if !ok {
				return
			}
			if send(rec) != nil || rc.Flush() != nil {
				return
			}
		case <-keepAlive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// service passes /api/v1/service/... to the running lab's service admin
// API (its own paths are under mock.AdminPrefix).
func (s *Server) service(w http.ResponseWriter, r *http.Request) {
	if s.noPart(w, false) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, APIPrefix+"/service")
	r2 := r.Clone(r.Context())
	r2.URL.Path = mock.AdminPrefix + rest
	r2.URL.RawPath = ""
	s.Lab().Service.AdminHandler().ServeHTTP(w, r2)
}
