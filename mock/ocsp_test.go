package mock_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"

	"github.com/egresslab/egresslab/internal/testtool"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
)

const ocspHost = "passwordreset.microsoftonline.com"

// ocspNoRedirect reports redirects as responses: the responder must never
// redirect (a cleaned path would be another request).
var ocspNoRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// startOCSP serves a responder for a fresh Authority on a loopback server.
func startOCSP(t *testing.T, opts ...mock.OCSPOption) (*pki.Authority, *mock.OCSPResponder, *httptest.Server) {
	t.Helper()
	auth, err := pki.New()
	require.NoError(t, err)
	o, err := mock.NewOCSPResponder(auth, opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return auth, o, srv
}

func ocspPost(t *testing.T, url, contentType string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return ocspDo(t, req)
}

func ocspGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return ocspDo(t, req)
}

func ocspDo(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := ocspNoRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// escapeAll percent-encodes every byte that is not a letter or a digit,
// as an over-eager client would.
func escapeAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ocspTransports are the ways a client may send the same request.
var ocspTransports = map[string]func(t *testing.T, base string, der []byte) (*http.Response, []byte){
	"POST": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspPost(t, base, mock.OCSPRequestType, bytes.NewReader(der))
	},
	"POST with parameter": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspPost(t, base+"/", "Application/OCSP-Request; charset=binary", bytes.NewReader(der))
	},
	"GET standard": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+base64.StdEncoding.EncodeToString(der))
	},
	"GET standard escaped": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+escapeAll(base64.StdEncoding.EncodeToString(der)))
	},
	"GET standard unpadded": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+base64.RawStdEncoding.EncodeToString(der))
	},
	"GET URL-safe": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+base64.URLEncoding.EncodeToString(der))
	},
	"GET URL-safe escaped": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+escapeAll(base64.URLEncoding.EncodeToString(der)))
	},
	"GET URL-safe unpadded": func(t *testing.T, base string, der []byte) (*http.Response, []byte) {
		return ocspGet(t, base+"/"+base64.RawURLEncoding.EncodeToString(der))
	},
}

// requestWithSlash builds an OCSP request for one of the certificates
// cert(0), cert(1), ... whose standard base64 holds both "/" and "+", so
// that every GET form differs from the others. It returns the certificate
// and the request.
func requestWithSlash(t *testing.T, issuer *x509.Certificate, cert func(i int) *x509.Certificate) (*x509.Certificate, []byte) {
	t.Helper()
	for i := range 200 {
		c := cert(i)
		der, err := ocsp.CreateRequest(c, issuer, nil)
		require.NoError(t, err)
		if s := base64.StdEncoding.EncodeToString(der); strings.Contains(s, "/") && strings.Contains(s, "+") {
			return c, der
		}
	}
	t.Fatal("no request with both / and + in its base64")
	return nil, nil
}

var ocspCacheControl = regexp.MustCompile(`^max-age=(\d+), public, no-transform, must-revalidate$`)

func TestOCSPStatuses(t *testing.T) {
	t.Parallel()
	auth, _, srv := startOCSP(t)
	issuer := auth.Issuing().Certificate() // the leaves' issuer

	leafOf := func(fault pki.Fault) func(int) *x509.Certificate {
		return func(int) *x509.Certificate {
			leaf, err := auth.Issue(pki.Request{Hosts: []string{ocspHost}, Fault: fault})
			require.NoError(t, err)
			return leaf.Cert
		}
	}
	good, goodReq := requestWithSlash(t, issuer, leafOf(pki.NoFault))
	revoked, revokedReq := requestWithSlash(t, issuer, leafOf(pki.Revoked))
	unknown, unknownReq := requestWithSlash(t, issuer, func(i int) *x509.Certificate {
		c := *good
		c.SerialNumber = big.NewInt(int64(1000 + i)) // never issued
		return &c
	})

	cases := map[string]struct {
		cert *x509.Certificate
		der  []byte
		want int
	}{
		"good":    {good, goodReq, ocsp.Good},
		"revoked": {revoked, revokedReq, ocsp.Revoked},
		"unknown": {unknown, unknownReq, ocsp.Unknown},
	}
	for name, tc := range cases {
		for how, send := range ocspTransports {
			t.Run(name+"/"+how, func(t *testing.T) {
				t.Parallel()
				resp, body := send(t, srv.URL, tc.der)
				require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
				assert.Equal(t, "application/ocsp-response", resp.Header.Get("Content-Type"))

				parsed, err := ocsp.ParseResponseForCert(body, tc.cert, issuer)
				require.NoError(t, err)
				assert.Equal(t, tc.want, parsed.Status)
				assert.Zero(t, tc.cert.SerialNumber.Cmp(parsed.SerialNumber))
				if tc.want == ocsp.Revoked {
					assert.Equal(t, ocsp.KeyCompromise, parsed.RevocationReason)
				}

				h := resp.Header
				assert.Equal(t, parsed.ThisUpdate.Format(http.TimeFormat), h.Get("Last-Modified"))
				assert.Equal(t, parsed.NextUpdate.Format(http.TimeFormat), h.Get("Expires"))
				m := ocspCacheControl.FindStringSubmatch(h.Get("Cache-Control"))
				require.NotNil(t, m, h.Get("Cache-Control"))
				maxAge, err := strconv.Atoi(m[1])
				require.NoError(t, err)
				assert.Positive(t, maxAge)
				assert.LessOrEqual(t, maxAge, int(pki.OCSPNextUpdate/time.Second))
				assert.LessOrEqual(t, time.Now().Add(time.Duration(maxAge)*time.Second), parsed.NextUpdate.Add(time.Second),
					"max-age reaches no further than nextUpdate")
				sum := sha1.Sum(body)
				assert.Equal(t, `"`+hex.EncodeToString(sum[:])+`"`, h.Get("ETag"))
			})
		}
	}
}

func TestOCSPErrorResponses(t *testing.T) {
	t.Parallel()
	auth, _, srv := startOCSP(t)

	other, err := pki.New()
	require.NoError(t, err)
	stranger, err := other.Issue(pki.Request{Hosts: []string{ocspHost}})
	require.NoError(t, err)
	strangerReq, err := ocsp.CreateRequest(stranger.Cert, other.Root().Certificate(), nil)
	require.NoError(t, err)

	cases := map[string]struct {
		send func(t *testing.T) (*http.Response, []byte)
		want ocsp.ResponseStatus
	}{
		"unauthorized POST": {func(t *testing.T) (*http.Response, []byte) {
			return ocspPost(t, srv.URL, mock.OCSPRequestType, bytes.NewReader(strangerReq))
		}, ocsp.Unauthorized},
		"unauthorized GET": {func(t *testing.T) (*http.Response, []byte) {
			return ocspGet(t, srv.URL+"/"+escapeAll(base64.StdEncoding.EncodeToString(strangerReq)))
		}, ocsp.Unauthorized},
		"garbage POST": {func(t *testing.T) (*http.Response, []byte) {
			return ocspPost(t, srv.URL, mock.OCSPRequestType, strings.NewReader("this is not DER"))
		}, ocsp.Malformed},
		"empty POST": {func(t *testing.T) (*http.Response, []byte) {
			return ocspPost(t, srv.URL, mock.OCSPRequestType, http.NoBody)
		}, ocsp.Malformed},
		"garbage GET": {func(t *testing.T) (*http.Response, []byte) {
			return ocspGet(t, srv.URL+"/not*base64!")
		}, ocsp.Malformed},
		"base64 garbage GET": {func(t *testing.T) (*http.Response, []byte) {
			return ocspGet(t, srv.URL+"/"+base64.StdEncoding.EncodeToString([]byte("not DER")))
		}, ocsp.Malformed},
		"double slash GET is not redirected": {func(t *testing.T) (*http.Response, []byte) {
			return ocspGet(t, srv.URL+"/MEIw//QDA+")
		}, ocsp.Malformed},
		"dot segments GET are not redirected": {func(t *testing.T) (*http.Response, []byte) {
			return ocspGet(t, srv.URL+"/MEIw/../QDA")
		}, ocsp.Malformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := tc.send(t)
			require.Equal(t, http.StatusOK, resp.StatusCode, "RFC 6960 error responses are HTTP 200")
			assert.Equal(t, "application/ocsp-response", resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Empty(t, resp.Header.Get("ETag"))
			assert.Empty(t, resp.Header.Get("Expires"))

			_, err := ocsp.ParseResponse(body, auth.Root().Certificate())
			var re ocsp.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.want, re.Status)
		})
	}
}

func TestOCSPRefusals(t *testing.T) {
	t.Parallel()
	_, o, srv := startOCSP(t)

	tooBig := bytes.Repeat([]byte{0x30}, 10<<10+1)
	cases := map[string]struct {
		req   func(t *testing.T) *http.Request
		want  int
		allow string
	}{
		"POST too large": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(tooBig))
			require.NoError(t, err)
			r.Header.Set("Content-Type", mock.OCSPRequestType)
			return r
		}, http.StatusRequestEntityTooLarge, ""},
		"POST too large, no length": {func(t *testing.T) *http.Request {
			// A plain io.Reader: the body is sent chunked.
			r, err := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(bytes.NewReader(tooBig)))
			require.NoError(t, err)
			r.Header.Set("Content-Type", mock.OCSPRequestType)
			return r
		}, http.StatusRequestEntityTooLarge, ""},
		"POST wrong type": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
			require.NoError(t, err)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, http.StatusUnsupportedMediaType, ""},
		"POST no type": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
			require.NoError(t, err)
			return r
		}, http.StatusUnsupportedMediaType, ""},
		"GET too large": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodGet, srv.URL+"/"+base64.StdEncoding.EncodeToString(tooBig), nil)
			require.NoError(t, err)
			return r
		}, http.StatusRequestURITooLong, ""},
		"GET empty path": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			require.NoError(t, err)
			return r
		}, http.StatusBadRequest, ""},
		"GET no path": {func(t *testing.T) *http.Request {
			r, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			return r
		}, http.StatusBadRequest, ""},
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
		cases[m] = struct {
			req   func(t *testing.T) *http.Request
			want  int
			allow string
		}{func(t *testing.T) *http.Request {
			r, err := http.NewRequest(m, srv.URL+"/MEIw", nil)
			require.NoError(t, err)
			return r
		}, http.StatusMethodNotAllowed, "GET, POST"}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := ocspDo(t, tc.req(t))
			assert.Equal(t, tc.want, resp.StatusCode, string(body))
			assert.Equal(t, tc.allow, resp.Header.Get("Allow"))
			if resp.Request.Method != http.MethodHead {
				assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
			}
		})
	}
	t.Cleanup(func() {
		assert.Empty(t, o.Queries(), "HTTP-level refusals are not OCSP queries")
	})
}

func TestOCSPObserverAndQueries(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		observed []mock.OCSPQuery
	)
	auth, o, srv := startOCSP(t, mock.WithOCSPObserver(func(q mock.OCSPQuery) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, q)
	}))
	issuer := auth.Issuing().Certificate() // the leaves' issuer
	good, err := auth.Issue(pki.Request{Hosts: []string{ocspHost}})
	require.NoError(t, err)
	revoked, err := auth.Issue(pki.Request{Hosts: []string{ocspHost}, Fault: pki.Revoked})
	require.NoError(t, err)
	other, err := pki.New()
	require.NoError(t, err)
	stranger, err := other.Issue(pki.Request{Hosts: []string{ocspHost}})
	require.NoError(t, err)

	reqOf := func(c, issuer *x509.Certificate) []byte {
		der, err := ocsp.CreateRequest(c, issuer, nil)
		require.NoError(t, err)
		return der
	}
	start := time.Now()
	ocspPost(t, srv.URL, mock.OCSPRequestType, bytes.NewReader(reqOf(good.Cert, issuer)))
	ocspGet(t, srv.URL+"/"+base64.URLEncoding.EncodeToString(reqOf(revoked.Cert, issuer)))
	ocspPost(t, srv.URL, mock.OCSPRequestType, bytes.NewReader(reqOf(stranger.Cert, other.Issuing().Certificate())))
	ocspPost(t, srv.URL, mock.OCSPRequestType, strings.NewReader("garbage"))
	ocspGet(t, srv.URL+"/")                 // 400: not a query
	ocspPost(t, srv.URL, "text/plain", nil) // 415: not a query

	type want struct{ method, serial, status string }
	wants := []want{
		{http.MethodPost, good.Cert.SerialNumber.Text(16), "good"},
		{http.MethodGet, revoked.Cert.SerialNumber.Text(16), "revoked"},
		{http.MethodPost, stranger.Cert.SerialNumber.Text(16), "unauthorized"},
		{http.MethodPost, "", "malformed"},
	}
	queries := o.Queries()
	require.Len(t, queries, len(wants))
	for i, q := range queries {
		assert.Equal(t, wants[i], want{q.Method, q.Serial, q.Status}, "query %d", i)
		assert.True(t, strings.HasPrefix(q.Remote, "127.0.0.1:"), q.Remote)
		assert.WithinRange(t, q.Time, start, time.Now())
	}
	mu.Lock()
	assert.Equal(t, queries, observed)
	mu.Unlock()

	queries[0].Status = "changed"
	assert.Equal(t, "good", o.Queries()[0].Status, "Queries returns a copy")
}

func TestOCSPClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	auth, err := pki.New(pki.WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	leaf, err := auth.Issue(pki.Request{Hosts: []string{ocspHost}})
	require.NoError(t, err)
	der, err := ocsp.CreateRequest(leaf.Cert, auth.Issuing().Certificate(), nil)
	require.NoError(t, err)

	cases := map[string]struct {
		now    time.Time
		maxAge string
	}{
		"same clock as the authority": {at, "max-age=604800"},
		"a day later":                 {at.Add(24 * time.Hour), "max-age=518400"},
		"after nextUpdate":            {at.Add(8 * 24 * time.Hour), "max-age=0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o, err := mock.NewOCSPResponder(auth, mock.WithOCSPClock(func() time.Time { return tc.now }))
			require.NoError(t, err)
			srv := httptest.NewServer(o)
			t.Cleanup(srv.Close)

			resp, _ := ocspPost(t, srv.URL, mock.OCSPRequestType, bytes.NewReader(der))
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tc.maxAge+", public, no-transform, must-revalidate", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "Sun, 01 Mar 2026 11:59:00 GMT", resp.Header.Get("Last-Modified"))
			assert.Equal(t, "Sun, 08 Mar 2026 12:00:00 GMT", resp.Header.Get("Expires"))
			require.Len(t, o.Queries(), 1)
			assert.Equal(t, tc.now, o.Queries()[0].Time)
		})
	}
}

func TestNewOCSPResponderNil(t *testing.T) {
	t.Parallel()
	o, err := mock.NewOCSPResponder(nil)
	require.Error(t, err)
	assert.Nil(t, o)
}

// TestOCSPOpenSSL has openssl, a real OCSP client, ask the responder over
// HTTP and verify the signed answers against the lab root.
func TestOCSPOpenSSL(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "openssl")
	auth, _, srv := startOCSP(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, auth.Root().WritePEM(caFile))
	issuingFile := filepath.Join(dir, "issuing.pem")
	require.NoError(t, auth.Issuing().WritePEM(issuingFile))

	other, err := pki.New()
	require.NoError(t, err)
	otherCA := filepath.Join(dir, "other-ca.pem")
	require.NoError(t, other.Root().WritePEM(otherCA))
	otherIssuing := filepath.Join(dir, "other-issuing.pem")
	require.NoError(t, other.Issuing().WritePEM(otherIssuing))

	// The leaves' issuer is the issuing CA, which signs the answers;
	// openssl verifies it up to the root.
	cases := map[string]struct {
		auth    *pki.Authority
		caFile  string
		issuing string
		fault   pki.Fault
		want    []string
	}{
		"good":         {auth, caFile, issuingFile, pki.NoFault, []string{"good.pem: good", "Response verify OK"}},
		"revoked":      {auth, caFile, issuingFile, pki.Revoked, []string{"revoked.pem: revoked", "Reason: keyCompromise", "Response verify OK"}},
		"unauthorized": {other, otherCA, otherIssuing, pki.NoFault, []string{"Responder Error: unauthorized"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			leaf, err := tc.auth.Issue(pki.Request{Hosts: []string{ocspHost}, Fault: tc.fault})
			require.NoError(t, err)
			leafFile := filepath.Join(dir, name+".pem")
			require.NoError(t, os.WriteFile(leafFile, leaf.CertPEM(), 0o644))

			out, code, err := testtool.Run(t, "openssl", "ocsp",
				"-issuer", tc.issuing, "-cert", leafFile, "-url", srv.URL, "-CAfile", tc.caFile, "-no_nonce")
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			if name != "unauthorized" {
				assert.Equal(t, 0, code, out)
			}
		})
	}
}

func ExampleOCSPResponder() {
	auth, _ := pki.New()
	leaf, _ := auth.Issue(pki.Request{Hosts: []string{"ajax.aspnetcdn.com"}, Fault: pki.Revoked})
	responder, _ := mock.NewOCSPResponder(auth)
	srv := httptest.NewServer(responder)
	defer srv.Close()

	der, _ := ocsp.CreateRequest(leaf.Cert, auth.Issuing().Certificate(), nil)
	resp, err := http.Post(srv.URL, "application/ocsp-request", bytes.NewReader(der))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	answer, err := ocsp.ParseResponseForCert(body, leaf.Cert, auth.Issuing().Certificate())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, answer.Status == ocsp.Revoked, responder.Queries()[0].Status)
	// Output: 200 OK true revoked
}
