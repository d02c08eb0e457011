package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationError is a failed revocation check: the certificate is
// revoked, or its status could not be learnt (Schannel's
// CRYPT_E_REVOCATION_OFFLINE).
type RevocationError struct {
	Host    string
	Serial  string
	Revoked bool
	At      time.Time // when it was revoked
	// Responder is the OCSP URL asked.
	Responder string
	Err       error // why the status is unknown; nil when revoked
}

func (e *RevocationError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("certificate of %s (serial %s) was revoked at %s (OCSP %s)", e.Host, e.Serial, e.At.UTC().Format(time.RFC3339), e.Responder)
	}
	return fmt.Sprintf("revocation of the certificate of %s cannot be checked (OCSP %s): %v", e.Host, e.Responder, e.Err)
}

func (e *RevocationError) Unwrap() error { return e.Err }

// CryptoAPIUserAgent is what Windows sends when it fetches revocation
// information; proxies are often told to let it through unauthenticated.
const CryptoAPIUserAgent = "Microsoft-CryptoAPI/10.0"

// maxOCSPResponse bounds a responder's answer.
const maxOCSPResponse = 64 << 10

// checkRevocation asks the leaf's OCSP responder (its AIA URL) about it,
// through nc, as CryptoAPI does: GET with the request in the path when it
// is short (RFC 5019), POST otherwise. The response must be signed for
// this leaf by its issuer and current.
func checkRevocation(ctx context.Context, nc *netClient, host string, chain []*x509.Certificate, now time.Time) error {
	if len(chain) < 2 {
		return &RevocationError{Host: host, Err: errors.New("no issuer in the verified chain")}
	}
	leaf, issuer := chain[0], chain[1]
	e := &RevocationError{Host: host, Serial: leaf.SerialNumber.Text(16)}
	if len(leaf.OCSPServer) == 0 {
		e.Err = errors.New("the certificate names no OCSP responder (CRLs are not checked by the lab client)")
		return e
	}
	e.Responder = leaf.OCSPServer[0]
	der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		e.Err = fmt.Errorf("build OCSP request: %w", err)
		return e
	}
	var req *http.Request
	enc := base64.StdEncoding.EncodeToString(der)
	if len(enc) < 255 {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(e.Responder, "/")+"/"+url.PathEscape(enc), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, e.Responder, bytes.NewReader(der))
		if req != nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	}
	if err != nil {
		e.Err = fmt.Errorf("OCSP URL %q: %w", e.Responder, err)
		return e
	}
	req.Header.Set("User-Agent", CryptoAPIUserAgent)
	resp, err := nc.http.Do(req)
	if err != nil {
		e.Err = unwrapURLError(err)
		return e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		e.Err = fmt.Errorf("read OCSP response: %w", err)
		return e
	}
	if resp.StatusCode != http.StatusOK {
		e.Err = fmt.Errorf("OCSP responder answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		return e
	}
	if len(body) > maxOCSPResponse {
		e.Err = fmt.Errorf("OCSP response larger than %d bytes", maxOCSPResponse)
		return e
	}
	r, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		e.Err = fmt.Errorf("OCSP response: %w", err)
		return e
	}
	switch {
	case r.Status == ocsp.Revoked:
		e.Revoked, e.At = true, r.RevokedAt
		return e
	case r.Status != ocsp.Good:
		e.Err = errors.New("OCSP responder does not know the certificate (status unknown)")
		return e
	case !r.NextUpdate.IsZero() && now.After(r.NextUpdate):
		e.Err = fmt.Errorf("OCSP response is stale (next update %s)", r.NextUpdate.UTC().Format(time.RFC3339))
		return e
	case r.ThisUpdate.After(now.Add(5 * time.Minute)):
		e.Err = fmt.Errorf("OCSP response is from the future (this update %s)", r.ThisUpdate.UTC().Format(time.RFC3339))
		return e
	}
	return nil
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats
// the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
