package mock_test

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
)

// FuzzOCSP sends arbitrary OCSP requests to the responder, as a POST
// body, as the base64 of a GET path, and as a raw GET path. It never
// panics, never redirects, and answers each either with a plain-text
// refusal (400, 413, 414) or with a well-formed OCSP response: for bytes
// that do not parse as an OCSP request, malformedRequest, byte for byte;
// for a request, an error response or a response about the serial asked
// for. The same bytes get the same answer by POST and by GET. Run it with
// go test -run '^$' -fuzz FuzzOCSP ./mock.
func FuzzOCSP(f *testing.F) {
	auth, err := pki.New()
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := auth.Issue(pki.Request{Hosts: []string{"login.microsoftonline.com"}})
	if err != nil {
		f.Fatal(err)
	}
	revoked, err := auth.Issue(pki.Request{Hosts: []string{"login.microsoftonline.com"}, Fault: pki.Revoked})
	if err != nil {
		f.Fatal(err)
	}
	root := auth.Root().Certificate()
	for _, c := range []struct {
		leaf *pki.Leaf
		hash crypto.Hash
	}{{leaf, crypto.SHA1}, {leaf, crypto.SHA256}, {revoked, crypto.SHA1}, {revoked, crypto.SHA384}} {
		der, err := ocsp.CreateRequest(c.leaf.Cert, root, &ocsp.RequestOptions{Hash: c.hash})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der, base64.StdEncoding.EncodeToString(der))
	}
	for _, s := range []string{"", "\x30", "\x30\x00", "\x30\x80\x00\x00", strings.Repeat("\x30\x82\xff\xff", 4)} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte{}, "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBR%2F%2F%2F==")
	f.Add([]byte{}, "%zz")
	f.Add([]byte{}, "a//b/../c")

	// ask answers one request, with a fresh responder (each keeps every
	// query it answered).
	ask := func(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
		t.Helper()
		o, err := mock.NewOCSPResponder(auth)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, req)
		return rec
	}
	post := func(t *testing.T, der []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://ocsp.example/", bytes.NewReader(der))
		req.Header.Set("Content-Type", mock.OCSPRequestType)
		return ask(t, req)
	}
	get := func(t *testing.T, raw string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://ocsp.example/", nil)
		req.URL = &url.URL{Path: "/" + raw, RawPath: "/" + raw}
		if p, err := url.PathUnescape(raw); err == nil {
			req.URL.Path = "/" + p
		}
		req.RequestURI = req.URL.RequestURI()
		return ask(t, req)
	}

	f.Fuzz(func(t *testing.T, der []byte, path string) {
		p := post(t, der)
		if len(der) > mock.MaxOCSPRequest {
			if p.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("POST of %d bytes: %d, want 413", len(der), p.Code)
			}
		} else {
			want := checkOCSPAnswer(t, "POST", der, p)
			g := get(t, base64.RawURLEncoding.EncodeToString(der))
			if len(der) == 0 {
				if g.Code != http.StatusBadRequest {
					t.Fatalf("GET /: status %d, want 400", g.Code)
				}
			} else if got := checkOCSPAnswer(t, "GET", der, g); got != want {
				t.Fatalf("%x: POST answers %s, GET %s", der, want, got)
			}
		}

		r := get(t, path)
		switch r.Code {
		case http.StatusOK:
			body := r.Body.Bytes()
			if ct := r.Header().Get("Content-Type"); ct != mock.OCSPResponseType {
				t.Fatalf("GET %q: 200 with Content-Type %q", path, ct)
			}
			if _, err := ocsp.ParseResponse(body, nil); err != nil {
				var re ocsp.ResponseError
				if !errors.As(err, &re) {
					t.Fatalf("GET %q: the answer is not an OCSP response: %v", path, err)
				}
			}
		case http.StatusBadRequest, http.StatusRequestURITooLong:
			if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("GET %q: %d with Content-Type %q", path, r.Code, ct)
			}
		default:
			t.Fatalf("GET %q: status %d: %q", path, r.Code, r.Body)
		}
	})
}

// checkOCSPAnswer checks an answer to der, at most MaxOCSPRequest bytes,
// and returns what it says: "malformed", "unauthorized" and the like, or
// the certificate status and serial of a successful response.
func checkOCSPAnswer(t *testing.T, how string, der []byte, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %x: status %d: %q", how, der, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != mock.OCSPResponseType {
		t.Fatalf("%s %x: Content-Type %q", how, der, ct)
	}
	body := rec.Body.Bytes()
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		if !bytes.Equal(body, ocsp.MalformedRequestErrorResponse) {
			t.Fatalf("%s %x: not a request (%v), but the answer is not malformedRequest: %x", how, der, err, body)
		}
		return "malformed"
	}
	resp, err := ocsp.ParseResponse(body, nil)
	if err != nil {
		var re ocsp.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("%s %x: the answer is not an OCSP response: %v", how, der, err)
		}
		return re.Error()
	}
	if resp.SerialNumber == nil || req.SerialNumber == nil || resp.SerialNumber.Cmp(req.SerialNumber) != 0 {
		t.Fatalf("%s %x: asked about %v, answered about %v", how, der, req.SerialNumber, resp.SerialNumber)
	}
	return "status " + string(rune('0'+resp.Status)) + " serial " + resp.SerialNumber.String()
}
