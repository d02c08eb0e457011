package mock_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/egresslab/egresslab/mock"
)

// FuzzAPI sends arbitrary bodies to every JSON API call. Whatever comes
// in, the service answers with JSON and a status from a short list, and
// never panics. The seed corpus is in testdata/fuzz/FuzzAPI.
func FuzzAPI(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"userId": "adele@contoso.com", "captchaId": "x", "captchaAnswer": "y"}`,
		`{"flowToken": "x", "method": "email"}`, `{"flowToken": 1}`, `{"answers": [1, 2]}`,
		`{"flowToken": "x", "method": "securityQuestions", "answers": ["a"]}`, `[`, `null`, `"str"`, `{"a":1}{"b":2}`,
		`{"newPassword": "\u0000\uffff"}`, "\xff\xfe",
	} {
		for _, path := range []string{"/begin", "/send", "/verify", "/password", "/captcha"} {
			f.Add(path, []byte(seed))
		}
	}
	dir, err := mock.LoadDirectoryFile("testdata/directory.yaml")
	if err != nil {
		f.Fatal(err)
	}
	svc, err := mock.New(mock.WithDirectory(dir))
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[int]bool{301: true, 200: true, 400: true, 404: true, 405: true, 409: true, 410: true, 413: true, 415: true}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest(http.MethodPost, "https://"+mock.PortalHost+"/", bytes.NewReader(body))
		req.URL.Path = mock.APIPrefix + path // any bytes, as a raw client could send
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusMovedPermanently {
			return // gorilla/mux cleaning a path with "..", "//" and the like
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %q", path, body, rec.Body)
		}
	})
}
