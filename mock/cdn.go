package mock

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
)

// Asset is one file the CDN serves.
type Asset struct {
	// Path is the URL path, absolute and clean, for example
	// "/ajax/jQuery/jquery-3.7.1.min.js".
	Path string
	// ContentType is the Content-Type header, for example
	// "application/javascript; charset=utf-8".
	ContentType string
	// Body is the file's content. The CDN keeps it; do not modify it after
	// passing it to [NewCDN].
	Body []byte
	// Modified is the Last-Modified time; zero means the time [NewCDN] was
	// called.
	Modified time.Time
}

// CDNCacheControl is the Cache-Control of every asset: the CDN's paths are
// versioned, so a file under a path never changes.
const CDNCacheControl = "public, max-age=31536000, immutable"

// CDN serves assets with the caching behaviour of a real CDN such as
// ajax.aspnetcdn.com: long-lived immutable caching, a strong ETag and
// Last-Modified with conditional requests (304), byte ranges, CORS for any
// origin, and gzip for clients that accept it.
//
// Gzip and ranges: a request with a Range header is always served the
// identity encoding, whatever its Accept-Encoding says, so byte offsets
// always refer to the file itself; gzip is only for whole-file responses.
// Each encoding has its own strong ETag, as RFC 9110 requires of strong
// validators. An asset that gzip does not make smaller has no gzip form.
//
// A CDN is an [http.Handler]; it is immutable once built and safe for
// concurrent use.
type CDN struct {
	assets   map[string]*cdnAsset
	router   *mux.Router
	requests atomic.Int64
}

// cdnAsset is an asset with its representations computed once.
type cdnAsset struct {
	Asset
	etag string
	// The gzip form is made on first demand: compressing at best
	// compression costs more than the rest of a lab's start.
	gzOnce   sync.Once
	gzip     []byte // nil: no gzip form
	gzipETag string
}

// gzipped returns the gzip form and its ETag, or nil when gzip does not
// make the asset smaller.
func (a *cdnAsset) gzipped() ([]byte, string) {
	a.gzOnce.Do(func() {
		if gz, err := gzipBytes(a.Body); err == nil && len(gz) < len(a.Body) {
			a.gzip, a.gzipETag = gz, strongETag(gz)
		}
	})
	return a.gzip, a.gzipETag
}

// NewCDN returns a CDN serving assets. It fails on an empty, relative,
// unclean or duplicate path, or on an empty content type.
func NewCDN(assets ...Asset) (*CDN, error) {
	now := time.Now().UTC().Truncate(time.Second)
	c := &CDN{assets: make(map[string]*cdnAsset, len(assets))}
	for i, a := range assets {
		if err := checkAssetPath(a.Path); err != nil {
			return nil, fmt.Errorf("new CDN: asset %d: %w", i, err)
		}
		if _, dup := c.assets[a.Path]; dup {
			return nil, fmt.Errorf("new CDN: asset %d: duplicate path %q", i, a.Path)
		}
		if strings.TrimSpace(a.ContentType) == "" {
			return nil, fmt.Errorf("new CDN: asset %d (%s): empty content type", i, a.Path)
		}
		if a.Modified.IsZero() {
			a.Modified = now
		}
		c.assets[a.Path] = &cdnAsset{Asset: a, etag: strongETag(a.Body)}
	}
	c.router = mux.NewRouter()
	c.router.PathPrefix("/").Methods(http.MethodGet, http.MethodHead).HandlerFunc(c.serveAsset)
	c.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		cdnText(w, http.StatusMethodNotAllowed, "405 method not allowed\n")
	})
	return c, nil
}

// checkAssetPath accepts only paths a request can reach exactly.
func checkAssetPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q is not absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (want %q)", p, path.Clean(p))
	case strings.ContainsAny(p, "?#"):
		return fmt.Errorf("path %q holds a query or fragment", p)
	}
	return nil
}

// strongETag is a quoted hex SHA-256 prefix of b.
func strongETag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// ServeHTTP serves an asset: GET and HEAD only, 404 for an unknown path.
func (c *CDN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	c.router.ServeHTTP(w, r)
}

// Requests returns how many requests the CDN has answered, whatever their
// status: tests use it to assert that a client did or did not fetch a script.
func (c *CDN) Requests() int64 { return c.requests.Load() }

func (c *CDN) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets[r.URL.Path]
	if !ok {
		cdnText(w, http.StatusNotFound, "404 not found\n")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", CDNCacheControl)
	body, etag := a.Body, a.etag
	if gz, gzETag := a.gzipped(); gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, etag = gz, gzETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// ServeContent handles HEAD, If-None-Match, If-Modified-Since, If-Range,
	// Range and Last-Modified.
	http.ServeContent(w, r, "", a.Modified, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding values accept gzip with a
// non-zero quality, by name ("gzip", "x-gzip") or through "*".
func acceptsGzip(values []string) bool {
	named, star := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				named = max(named, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if named >= 0 {
		return named > 0
	}
	return star > 0
}

// cdnText writes a short plain-text response that no one should cache.
func cdnText(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
