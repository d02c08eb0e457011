package mock

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/crypto/ocsp"

	"github.com/egresslab/egresslab/pki"
)

// OCSP media types (RFC 6960 Appendix C).
const (
	OCSPRequestType  = "application/ocsp-request"
	OCSPResponseType = "application/ocsp-response"
)

// MaxOCSPRequest is the largest OCSP request the responder reads, DER
// bytes: a single-certificate request is about a hundred bytes.
const MaxOCSPRequest = 10 << 10

// OCSPInternalError is the [OCSPQuery.Status] of a request the responder
// failed to sign an answer for.
const OCSPInternalError = "internalError"

// OCSPResponder answers OCSP requests (RFC 6960 over HTTP, RFC 5019
// profile) for the certificates an Authority issued, as ocsp.digicert.com
// does for the real service: the leaves, answered by the issuing CA, and
// the intermediates, answered by the root ([pki.Authority.RespondOCSP]). POST with an application/ocsp-request body, or
// GET with the base64 of the DER request as the path.
//
// Every answer that carries an OCSP response is 200, error responses
// (malformedRequest, unauthorized) included, as RFC 6960 says, except an
// internal signing failure (500 with the internalError response). Good,
// revoked and unknown answers carry RFC 5019 caching headers. HTTP-level
// refusals have plain-text bodies: 405 for a method other than GET and POST,
// 415 for a POST that is not application/ocsp-request, 413 for a POST body
// over [MaxOCSPRequest], 414 for a GET request over it, and 400 for a GET
// with no request in its path.
//
// Answers are signed afresh for every request; nothing is cached. An
// OCSPResponder is an [http.Handler], safe for concurrent use.
type OCSPResponder struct {
	auth   *pki.Authority
	cfg    ocspConfig
	router *mux.Router

	mu      sync.Mutex
	queries []OCSPQuery
}

// OCSPOption configures an [OCSPResponder].
type OCSPOption func(*ocspConfig)

type ocspConfig struct {
	observer func(OCSPQuery)
	now      func() time.Time
}

// WithOCSPObserver has fn called with every query the responder answers
// with an OCSP response, just before the answer is written: when a client
// has its answer, fn has seen the query. fn may be called from several
// goroutines at once, and delays the answer while it runs. HTTP-level refusals (400, 405, 413, 414,
// 415) are not queries and are not observed.
func WithOCSPObserver(fn func(OCSPQuery)) OCSPOption {
	return func(c *ocspConfig) { c.observer = fn }
}

// WithOCSPClock sets the clock the responder stamps queries with and
// computes Cache-Control max-age against. Give it the clock the Authority
// has (pki.WithClock), so that max-age agrees with the nextUpdate the
// Authority signs. The default is time.Now.
func WithOCSPClock(now func() time.Time) OCSPOption {
	return func(c *ocspConfig) { c.now = now }
}

// OCSPQuery records one answered OCSP request.
type OCSPQuery struct {
	// Time is when the request was answered, on the responder's clock.
	Time time.Time
	// Method is the HTTP method, GET or POST.
	Method string
	// Serial is the certificate serial number asked about, in lowercase
	// hex; empty for a request that did not parse.
	Serial string
	// Status is the answer: a pki.OCSPStatus's String ("good", "revoked",
	// "unknown", "unauthorized", "malformed"), or [OCSPInternalError].
	Status string
	// Remote is the client's address, host:port.
	Remote string
}

// NewOCSPResponder returns a responder answering for auth.
func NewOCSPResponder(auth *pki.Authority, opts ...OCSPOption) (*OCSPResponder, error) {
	if auth == nil {
		return nil, errors.New("new OCSP responder: nil authority")
	}
	cfg := ocspConfig{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	o := &OCSPResponder{auth: auth, cfg: cfg}
	// The GET path is base64, which may hold "/" and "//": match every path
	// and never clean it (a cleaned path would be a redirect to a different
	// request).
	o.router = mux.NewRouter().SkipClean(true)
	o.router.PathPrefix("/").Methods(http.MethodPost).HandlerFunc(o.servePOST)
	o.router.PathPrefix("/").Methods(http.MethodGet).HandlerFunc(o.serveGET)
	o.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, POST")
		ocspText(w, http.StatusMethodNotAllowed, "405 method not allowed: OCSP is GET or POST")
	})
	return o, nil
}

// ServeHTTP answers an OCSP request.
func (o *OCSPResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.router.ServeHTTP(w, r)
}

// Queries returns a copy of every query answered so far, in the order they
// were answered.
func (o *OCSPResponder) Queries() []OCSPQuery {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]OCSPQuery(nil), o.queries...)
}

func (o *OCSPResponder) servePOST(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, OCSPRequestType) {
		ocspText(w, http.StatusUnsupportedMediaType, "415 unsupported media type: want "+OCSPRequestType)
		return
	}
	if r.ContentLength > MaxOCSPRequest {
		ocspText(w, http.StatusRequestEntityTooLarge, "413 OCSP request too large")
		return
	}
	der, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOCSPRequest))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			ocspText(w, http.StatusRequestEntityTooLarge, "413 OCSP request too large")
			return
		}
		ocspText(w, http.StatusBadRequest, "400 reading OCSP request: "+err.Error())
		return
	}
	o.answer(w, r, der)
}

// serveGET decodes the request from the path (RFC 6960 Appendix A.1): the
// base64 of the DER request, possibly percent-escaped, in the standard or
// the URL-safe alphabet, with or without padding.
func (o *OCSPResponder) serveGET(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if raw == "" {
		ocspText(w, http.StatusBadRequest, "400 missing OCSP request: GET /{base64 of the DER request}")
		return
	}
	// Base64 of MaxOCSPRequest bytes, with every character escaped.
	if len(raw) > 3*base64.StdEncoding.EncodedLen(MaxOCSPRequest) {
		ocspText(w, http.StatusRequestURITooLong, "414 OCSP request too large")
		return
	}
	der, err := decodeOCSPPath(raw)
	if err != nil {
		// Not a request: answer as for any request that does not parse.
		der = nil
	}
	if len(der) > MaxOCSPRequest {
		ocspText(w, http.StatusRequestURITooLong, "414 OCSP request too large")
		return
	}
	o.answer(w, r, der)
}

func decodeOCSPPath(escaped string) ([]byte, error) {
	s, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fmt.Errorf("unescape path: %w", err)
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
	der, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	return der, nil
}

// answer writes auth's answer to der and records the query.
func (o *OCSPResponder) answer(w http.ResponseWriter, r *http.Request, der []byte) {
	now := o.cfg.now()
	q := OCSPQuery{Time: now, Method: r.Method, Remote: r.RemoteAddr}
	if req, err := ocsp.ParseRequest(der); err == nil && req.SerialNumber != nil {
		q.Serial = req.SerialNumber.Text(16)
	}

	resp, status, err := o.auth.RespondOCSP(der)
	code := http.StatusOK
	q.Status = status.String()
	if err != nil {
		resp, code, q.Status = ocsp.InternalErrorErrorResponse, http.StatusInternalServerError, OCSPInternalError
	}

	h := w.Header()
	h.Set("Content-Type", OCSPResponseType)
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	switch {
	case err != nil:
		h.Set("Cache-Control", "no-store")
	case status == pki.OCSPGood || status == pki.OCSPRevoked || status == pki.OCSPUnknown:
		setOCSPCaching(h, resp, now)
	default:
		// malformedRequest and unauthorized are about this request only.
		h.Set("Cache-Control", "no-store")
	}

	// Record before answering, so that a client holding its answer can
	// count on Queries and the observer having seen it.
	o.mu.Lock()
	o.queries = append(o.queries, q)
	o.mu.Unlock()
	if o.cfg.observer != nil {
		o.cfg.observer(q)
	}

	w.WriteHeader(code)
	_, _ = w.Write(resp)
}

// setOCSPCaching sets the RFC 5019 section 6.2 headers for a signed
// response. The response is parsed without checking its signature (there
// is no embedded certificate, and the issuer is not needed to read the
// times): the responder signed it a moment ago.
func setOCSPCaching(h http.Header, resp []byte, now time.Time) {
	sum := sha1.Sum(resp)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	parsed, err := ocsp.ParseResponse(resp, nil)
	if err != nil {
		h.Set("Cache-Control", "no-store")
		return
	}
	h.Set("Last-Modified", parsed.ThisUpdate.UTC().Format(http.TimeFormat))
	if parsed.NextUpdate.IsZero() {
		// No nextUpdate: newer information is always available.
		h.Set("Cache-Control", "no-cache, no-transform")
		return
	}
	h.Set("Expires", parsed.NextUpdate.UTC().Format(http.TimeFormat))
	maxAge := max(int64(parsed.NextUpdate.Sub(now)/time.Second), 0)
	h.Set("Cache-Control", fmt.Sprintf("max-age=%d, public, no-transform, must-revalidate", maxAge))
}

// ocspText writes a short plain-text refusal.
func ocspText(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
