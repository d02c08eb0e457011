package mock

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/egresslab/egresslab/pki"
)

// CRLType is the media type of a DER CRL (RFC 2585).
const CRLType = "application/pkix-crl"

// CRLServer serves the certificate revocation lists of the lab's CAs, as
// crl3.digicert.com and crl4.digicert.com do for the real service: the
// issuing CA's, which the lab's leaves name ([pki.IssuingCRLFile]), the
// trusted root's, which the intermediates name ([pki.DefaultCRLURLs]),
// and the revoked intermediate's ([pki.RevokedIntermediate]). GET (or
// HEAD) of a CRL distribution point's path (its file name) answers 200
// with the DER CRL, signed afresh, every certificate that CA revoked
// listed ([pki.Authority.CRLAt]). Another path is 404, another method
// 405. A CRLServer is an [http.Handler], safe for concurrent use.
type CRLServer struct {
	auth *pki.Authority

	mu      sync.Mutex
	fetches []CRLFetch
}

// CRLFetch records one CRL served.
type CRLFetch struct {
	Host   string // the Host header: which distribution point
	Path   string
	Remote string
}

// NewCRLServer returns a server of auth's CRL.
func NewCRLServer(auth *pki.Authority) (*CRLServer, error) {
	if auth == nil || auth.Root() == nil {
		return nil, errors.New("new CRL server: nil authority")
	}
	return &CRLServer{auth: auth}, nil
}

// Fetches returns a copy of every CRL fetch answered so far, in order.
func (c *CRLServer) Fetches() []CRLFetch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CRLFetch(nil), c.fetches...)
}

// ServeHTTP serves the CRL.
func (c *CRLServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		ocspText(w, http.StatusMethodNotAllowed, "405 method not allowed: a CRL is fetched with GET")
		return
	}
	der, ok, err := c.auth.CRLAt(r.URL.Path)
	if !ok {
		ocspText(w, http.StatusNotFound, "404 no CRL at "+r.URL.Path)
		return
	}
	if err != nil {
		ocspText(w, http.StatusInternalServerError, "500 "+err.Error())
		return
	}
	c.mu.Lock()
	c.fetches = append(c.fetches, CRLFetch{Host: r.Host, Path: r.URL.Path, Remote: r.RemoteAddr})
	c.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", CRLType)
	h.Set("Content-Length", strconv.Itoa(len(der)))
	h.Set("Cache-Control", "max-age="+strconv.Itoa(int(time.Hour/time.Second))+", public")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(der)
	}
}
