package mock_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

const (
	cdnScriptPath = "/ajax/jQuery/jquery-3.7.1.min.js"
	cdnScriptType = "application/javascript; charset=utf-8"
	cdnImagePath  = "/ajax/img/logo.bin"
)

var (
	cdnScriptBody = []byte(strings.Repeat("/*! jQuery v3.7.1 */ (function(){ var x = 1; })();\n", 200))
	// cdnImageBody does not compress: the CDN keeps no gzip form of it.
	cdnImageBody = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00}
	cdnModified  = time.Date(2023, 8, 28, 13, 37, 0, 0, time.UTC)
)

// startCDN serves a script and an image on a loopback test server.
func startCDN(t *testing.T) (*mock.CDN, *httptest.Server) {
	t.Helper()
	cdn, err := mock.NewCDN(
		mock.Asset{Path: cdnScriptPath, ContentType: cdnScriptType, Body: cdnScriptBody, Modified: cdnModified},
		mock.Asset{Path: cdnImagePath, ContentType: "image/png", Body: cdnImageBody, Modified: cdnModified},
	)
	require.NoError(t, err)
	srv := httptest.NewServer(cdn)
	t.Cleanup(srv.Close)
	return cdn, srv
}

// cdnRawClient does not add Accept-Encoding or decompress, so tests see the
// wire.
var cdnRawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func cdnDo(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := cdnRawClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestCDNGet(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	resp, body := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, cdnScriptBody, body)
	h := resp.Header
	assert.Equal(t, cdnScriptType, h.Get("Content-Type"))
	assert.Equal(t, "public, max-age=31536000, immutable", h.Get("Cache-Control"))
	assert.Regexp(t, `^"[0-9a-f]+"$`, h.Get("ETag"))
	assert.Equal(t, cdnModified.Format(http.TimeFormat), h.Get("Last-Modified"))
	assert.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "Accept-Encoding", h.Get("Vary"))
	assert.Empty(t, h.Get("Content-Encoding"))
	assert.Equal(t, "bytes", h.Get("Accept-Ranges"))
}

func TestCDNHead(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	get, _ := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)
	resp, body := cdnDo(t, http.MethodHead, srv.URL+cdnScriptPath, nil)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, int64(len(cdnScriptBody)), resp.ContentLength)
	for _, k := range []string{"Content-Type", "Cache-Control", "ETag", "Last-Modified", "Access-Control-Allow-Origin"} {
		assert.Equal(t, get.Header.Get(k), resp.Header.Get(k), k)
	}
}

func TestCDNNotModified(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	first, _ := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)
	etag := first.Header.Get("ETag")
	require.NotEmpty(t, etag)

	tests := map[string]struct {
		header map[string]string
		want   int
	}{
		"If-None-Match same":          {map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		"If-None-Match list":          {map[string]string{"If-None-Match": `"other", ` + etag}, http.StatusNotModified},
		"If-None-Match star":          {map[string]string{"If-None-Match": "*"}, http.StatusNotModified},
		"If-None-Match other":         {map[string]string{"If-None-Match": `"other"`}, http.StatusOK},
		"If-Modified-Since same":      {map[string]string{"If-Modified-Since": cdnModified.Format(http.TimeFormat)}, http.StatusNotModified},
		"If-Modified-Since later":     {map[string]string{"If-Modified-Since": cdnModified.Add(time.Hour).Format(http.TimeFormat)}, http.StatusNotModified},
		"If-Modified-Since earlier":   {map[string]string{"If-Modified-Since": cdnModified.Add(-time.Hour).Format(http.TimeFormat)}, http.StatusOK},
		"If-None-Match wins over IMS": {map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": cdnModified.Format(http.TimeFormat)}, http.StatusOK},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, tt.header)
			assert.Equal(t, tt.want, resp.StatusCode)
			if tt.want == http.StatusNotModified {
				assert.Empty(t, body)
				assert.Equal(t, etag, resp.Header.Get("ETag"))
			} else {
				assert.Equal(t, cdnScriptBody, body)
			}
		})
	}
}

func TestCDNGzip(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	identity, _ := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)

	tests := map[string]struct {
		path, accept string
		gzip         bool
	}{
		"gzip":             {cdnScriptPath, "gzip", true},
		"gzip among":       {cdnScriptPath, "br, gzip, deflate", true},
		"x-gzip":           {cdnScriptPath, "x-gzip", true},
		"star":             {cdnScriptPath, "*", true},
		"gzip with q":      {cdnScriptPath, "gzip;q=0.5, identity", true},
		"gzip refused":     {cdnScriptPath, "gzip;q=0, *", false},
		"star refused":     {cdnScriptPath, "*;q=0", false},
		"none":             {cdnScriptPath, "", false},
		"br only":          {cdnScriptPath, "br", false},
		"incompressible":   {cdnImagePath, "gzip", false},
		"gzip upper case":  {cdnScriptPath, "GZIP", true},
		"gzip q=0.000":     {cdnScriptPath, "gzip; q=0.000", false},
		"identity refused": {cdnScriptPath, "identity;q=0, gzip", true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := cdnDo(t, http.MethodGet, srv.URL+tt.path, map[string]string{"Accept-Encoding": tt.accept})
			require.Equal(t, http.StatusOK, resp.StatusCode)
			want := cdnScriptBody
			if tt.path == cdnImagePath {
				want = cdnImageBody
			}
			if !tt.gzip {
				assert.Empty(t, resp.Header.Get("Content-Encoding"))
				assert.Equal(t, want, body)
				return
			}
			assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
			assert.Less(t, len(body), len(want))
			assert.NotEqual(t, identity.Header.Get("ETag"), resp.Header.Get("ETag"), "each encoding has its own strong ETag")
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.Equal(t, want, plain)
		})
	}

	t.Run("conditional", func(t *testing.T) {
		t.Parallel()
		accept := map[string]string{"Accept-Encoding": "gzip"}
		first, _ := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, accept)
		accept["If-None-Match"] = first.Header.Get("ETag")
		resp, body := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, accept)
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
		assert.Empty(t, body)
	})

	t.Run("default client", func(t *testing.T) {
		t.Parallel()
		// Go's transport asks for gzip and decodes it transparently.
		resp, err := srv.Client().Get(srv.URL + cdnScriptPath)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.True(t, resp.Uncompressed)
		assert.Equal(t, cdnScriptBody, body)
	})
}

func TestCDNRange(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	identity, _ := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)
	n := len(cdnScriptBody)

	tests := map[string]struct {
		header map[string]string
		want   int
		body   []byte
	}{
		"first bytes":             {map[string]string{"Range": "bytes=0-9"}, http.StatusPartialContent, cdnScriptBody[:10]},
		"suffix":                  {map[string]string{"Range": "bytes=-5"}, http.StatusPartialContent, cdnScriptBody[n-5:]},
		"open end":                {map[string]string{"Range": "bytes=100-"}, http.StatusPartialContent, cdnScriptBody[100:]},
		"with gzip accepted":      {map[string]string{"Range": "bytes=0-9", "Accept-Encoding": "gzip"}, http.StatusPartialContent, cdnScriptBody[:10]},
		"unsatisfiable":           {map[string]string{"Range": "bytes=999999-"}, http.StatusRequestedRangeNotSatisfiable, nil},
		"If-Range matches":        {map[string]string{"Range": "bytes=0-9", "If-Range": identity.Header.Get("ETag")}, http.StatusPartialContent, cdnScriptBody[:10]},
		"If-Range does not match": {map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`}, http.StatusOK, cdnScriptBody},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, tt.header)
			require.Equal(t, tt.want, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Content-Encoding"), "ranges are of the identity encoding")
			if tt.body != nil {
				assert.Equal(t, tt.body, body)
			}
		})
	}
}

func TestCDNRefusals(t *testing.T) {
	t.Parallel()
	_, srv := startCDN(t)
	tests := map[string]struct {
		method, path string
		want         int
		allow        string
	}{
		"unknown path": {http.MethodGet, "/ajax/jQuery/jquery-0.0.0.min.js", http.StatusNotFound, ""},
		"root":         {http.MethodGet, "/", http.StatusNotFound, ""},
		"POST":         {http.MethodPost, cdnScriptPath, http.StatusMethodNotAllowed, "GET, HEAD"},
		"PUT":          {http.MethodPut, cdnScriptPath, http.StatusMethodNotAllowed, "GET, HEAD"},
		"DELETE":       {http.MethodDelete, cdnScriptPath, http.StatusMethodNotAllowed, "GET, HEAD"},
		"OPTIONS":      {http.MethodOptions, cdnScriptPath, http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, body := cdnDo(t, tt.method, srv.URL+tt.path, nil)
			assert.Equal(t, tt.want, resp.StatusCode)
			assert.Equal(t, tt.allow, resp.Header.Get("Allow"))
			assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, body)
			assert.Less(t, len(body), 100)
			assert.Empty(t, resp.Header.Get("ETag"))
		})
	}
}

func TestNewCDNErrors(t *testing.T) {
	t.Parallel()
	ok := mock.Asset{Path: "/a.js", ContentType: cdnScriptType, Body: []byte("a")}
	tests := map[string]struct {
		assets []mock.Asset
		err    string
	}{
		"empty path":        {[]mock.Asset{{ContentType: cdnScriptType}}, "empty path"},
		"relative path":     {[]mock.Asset{{Path: "a.js", ContentType: cdnScriptType}}, "not absolute"},
		"unclean path":      {[]mock.Asset{{Path: "/x/../a.js", ContentType: cdnScriptType}}, "not clean"},
		"query":             {[]mock.Asset{{Path: "/a.js?v=1", ContentType: cdnScriptType}}, "query"},
		"duplicate path":    {[]mock.Asset{ok, ok}, `asset 1: duplicate path "/a.js"`},
		"empty type":        {[]mock.Asset{{Path: "/a.js"}}, "empty content type"},
		"blank type":        {[]mock.Asset{ok, {Path: "/b.js", ContentType: " "}}, "asset 1 (/b.js): empty content type"},
		"none is fine":      {nil, ""},
		"empty body is ok":  {[]mock.Asset{{Path: "/empty.js", ContentType: cdnScriptType}}, ""},
		"two distinct okay": {[]mock.Asset{ok, {Path: "/b.js", ContentType: cdnScriptType}}, ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cdn, err := mock.NewCDN(tt.assets...)
			if tt.err == "" {
				require.NoError(t, err)
				assert.NotNil(t, cdn)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
			assert.Nil(t, cdn)
		})
	}
}

func TestCDNDefaultModified(t *testing.T) {
	t.Parallel()
	cdn, err := mock.NewCDN(mock.Asset{Path: "/a.js", ContentType: cdnScriptType, Body: []byte("a")})
	require.NoError(t, err)
	srv := httptest.NewServer(cdn)
	t.Cleanup(srv.Close)
	resp, _ := cdnDo(t, http.MethodGet, srv.URL+"/a.js", nil)
	lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), lm, time.Minute)
}

func TestCDNRequests(t *testing.T) {
	t.Parallel()
	cdn, srv := startCDN(t)
	assert.Zero(t, cdn.Requests())

	cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, nil)
	cdnDo(t, http.MethodHead, srv.URL+cdnScriptPath, nil)
	cdnDo(t, http.MethodGet, srv.URL+cdnScriptPath, map[string]string{"If-None-Match": "*"})
	cdnDo(t, http.MethodGet, srv.URL+"/missing.js", nil)
	cdnDo(t, http.MethodPost, srv.URL+cdnScriptPath, nil)
	assert.Equal(t, int64(5), cdn.Requests(), "every answer counts, whatever its status")
}

func TestCDNConcurrent(t *testing.T) {
	t.Parallel()
	cdn, srv := startCDN(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodGet, srv.URL+cdnScriptPath, nil)
			if err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					errs <- err
					return
				}
				r = zr
			}
			body, err := io.ReadAll(r)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(body, cdnScriptBody) {
				errs <- io.ErrUnexpectedEOF
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int64(n), cdn.Requests())
}
