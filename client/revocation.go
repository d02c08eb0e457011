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

// Revocation sources, as [Result.RevocationSource] and
// [RevocationError.Source] name them.
const (
	SourceOCSP = "ocsp"
	SourceCRL  = "crl"
)

// RevocationError is a failed revocation check: the certificate is
// revoked, or its status could not be learnt from either source (Schannel's
// CRYPT_E_REVOCATION_OFFLINE).
type RevocationError struct {
	Host string
	// Subject is the common name of the certificate whose status this is,
	// and Issuer true when it is not the host's own but a CA's in its
	// chain (an intermediate).
	Subject string
	Issuer  bool
	Serial  string
	Revoked bool
	At      time.Time // when it was revoked
	// Source is where the revocation was learnt, SourceOCSP or SourceCRL;
	// empty when the status is unknown.
	Source string
	// Responder is the OCSP URL asked, CRL the CRL distribution point
	// that said revoked or, when the status is unknown, the last one tried.
	Responder string
	CRL       string
	// Err is why the status is unknown, the OCSP failure and the CRL
	// failure in turn (errors.As finds either); nil when revoked.
	Err error
}

func (e *RevocationError) Error() string {
	what := "certificate of " + e.Host
	if e.Issuer {
		what = fmt.Sprintf("issuing CA certificate %q in the chain of %s", e.Subject, e.Host)
	}
	if e.Revoked {
		where := "OCSP " + e.Responder
		if e.Source == SourceCRL {
			where = "CRL " + e.CRL
		}
		return fmt.Sprintf("%s (serial %s) was revoked at %s (%s)", what, e.Serial, e.At.UTC().Format(time.RFC3339), where)
	}
	return fmt.Sprintf("revocation of the %s cannot be checked: %v", what, e.Err)
}

func (e *RevocationError) Unwrap() error { return e.Err }

// sourceErrors are the failures of each revocation source, in the order
// tried, on one line.
type sourceErrors []error

func (s sourceErrors) Error() string {
	parts := make([]string, len(s))
	for i, err := range s {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (s sourceErrors) Unwrap() []error { return s }

// CryptoAPIUserAgent is what Windows sends when it fetches revocation
// information; proxies are often told to let it through unauthenticated.
const CryptoAPIUserAgent = "Microsoft-CryptoAPI/10.0"

// maxOCSPResponse bounds a responder's answer, maxCRL a CRL.
const (
	maxOCSPResponse = 64 << 10
	maxCRL          = 4 << 20
)

// revokedAt is a source's definitive "revoked".
type revokedAt struct{ at time.Time }

// checkChain checks the revocation of every certificate of a verified
// chain but the root, the leaf first, as CryptoAPI does for TLS servers
// (CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT). It returns the source
// of each answer, in order, and the first failure; under soft-fail
// (keepGoing) it goes on past a status it could not learn, and returns
// every such failure.
func checkChain(ctx context.Context, nc *netClient, host string, chain []*x509.Certificate, now time.Time, keepGoing bool) ([]string, []error) {
	if len(chain) < 2 {
		return nil, []error{&RevocationError{Host: host, Err: errors.New("no issuer in the verified chain")}}
	}
	var sources []string
	var errs []error
	for i := 0; i+1 < len(chain); i++ {
		source, err := checkRevocation(ctx, nc, host, chain[i], chain[i+1], i > 0, now)
		sources = append(sources, source)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		var re *RevocationError
		if !keepGoing || (errors.As(err, &re) && re.Revoked) {
			break
		}
	}
	return sources, errs
}

// checkRevocation learns the status of a certificate as CryptoAPI does:
// from its OCSP responder (its AIA URL) first, then, when OCSP gives no
// usable answer, from its CRL distribution points in turn, all through nc.
// It returns the source that answered; the error is a *RevocationError.
func checkRevocation(ctx context.Context, nc *netClient, host string, leaf, issuer *x509.Certificate, isCA bool, now time.Time) (string, error) {
	e := &RevocationError{Host: host, Subject: leaf.Subject.CommonName, Issuer: isCA, Serial: leaf.SerialNumber.Text(16)}
	var errs sourceErrors
	if len(leaf.OCSPServer) == 0 {
		errs = append(errs, errors.New("OCSP: the certificate names no OCSP responder"))
	} else {
		e.Responder = leaf.OCSPServer[0]
		rev, err := checkOCSP(ctx, nc, e.Responder, leaf, issuer, now)
		switch {
		case err == nil && rev == nil:
			return SourceOCSP, nil
		case err == nil:
			e.Revoked, e.At, e.Source = true, rev.at, SourceOCSP
			return SourceOCSP, e
		}
		errs = append(errs, fmt.Errorf("OCSP %s: %w", e.Responder, err))
	}
	tried := false
	for _, u := range leaf.CRLDistributionPoints {
		if !strings.HasPrefix(strings.ToLower(u), "http://") {
			continue // CryptoAPI also reads ldap:// points; the lab has none
		}
		tried = true
		e.CRL = u
		rev, err := checkCRL(ctx, nc, u, leaf, issuer, now)
		switch {
		case err == nil && rev == nil:
			return SourceCRL, nil
		case err == nil:
			e.Revoked, e.At, e.Source = true, rev.at, SourceCRL
			return SourceCRL, e
		}
		errs = append(errs, fmt.Errorf("CRL %s: %w", u, err))
	}
	if !tried {
		errs = append(errs, errors.New("CRL: the certificate names no HTTP CRL distribution point"))
	}
	e.Err = errs
	return "", e
}

// fetch gets a revocation source's answer, at most limit bytes, with
// CryptoAPI's user agent; what names the source in errors.
func fetch(nc *netClient, req *http.Request, what string, limit int64) ([]byte, error) {
	req.Header.Set("User-Agent", CryptoAPIUserAgent)
	resp, err := nc.http.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d %s", what, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s answer larger than %d bytes", what, limit)
	}
	return body, nil
}

// checkOCSP asks responder about leaf: GET with the request in the path
// when it is short (RFC 5019), POST otherwise. The response must be
// signed for this leaf by its issuer and current. A nil *revokedAt and
// nil error is "good".
func checkOCSP(ctx context.Context, nc *netClient, responder string, leaf, issuer *x509.Certificate, now time.Time) (*revokedAt, error) {
	der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, fmt.Errorf("build OCSP request: %w", err)
	}
	var req *http.Request
	enc := base64.StdEncoding.EncodeToString(der)
	if len(enc) < 255 {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(responder, "/")+"/"+url.PathEscape(enc), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, responder, bytes.NewReader(der))
		if req != nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("OCSP URL: %w", err)
	}
	body, err := fetch(nc, req, "OCSP responder", maxOCSPResponse)
	if err != nil {
		return nil, err
	}
	r, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		return nil, fmt.Errorf("OCSP response: %w", err)
	}
	switch {
	case r.Status == ocsp.Revoked:
		return &revokedAt{r.RevokedAt}, nil
	case r.Status != ocsp.Good:
		return nil, errors.New("OCSP responder does not know the certificate (status unknown)")
	case !r.NextUpdate.IsZero() && now.After(r.NextUpdate):
		return nil, fmt.Errorf("OCSP response is stale (next update %s)", r.NextUpdate.UTC().Format(time.RFC3339))
	case r.ThisUpdate.After(now.Add(5 * time.Minute)):
		return nil, fmt.Errorf("OCSP response is from the future (this update %s)", r.ThisUpdate.UTC().Format(time.RFC3339))
	}
	return nil, nil
}

// checkCRL fetches the CRL at u and looks leaf up in it. The CRL must be
// signed by the leaf's issuer and current. A nil *revokedAt and nil error
// is "not listed".
func checkCRL(ctx context.Context, nc *netClient, u string, leaf, issuer *x509.Certificate, now time.Time) (*revokedAt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("CRL URL: %w", err)
	}
	body, err := fetch(nc, req, "CRL host", maxCRL)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(body)
	if err != nil {
		return nil, fmt.Errorf("CRL: %w", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL not signed by the certificate's issuer: %w", err)
	}
	switch {
	case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
		return nil, fmt.Errorf("CRL is stale (next update %s)", crl.NextUpdate.UTC().Format(time.RFC3339))
	case crl.ThisUpdate.After(now.Add(5 * time.Minute)):
		return nil, fmt.Errorf("CRL is from the future (this update %s)", crl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	for _, r := range crl.RevokedCertificateEntries {
		if r.SerialNumber != nil && r.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			return &revokedAt{r.RevocationTime}, nil
		}
	}
	return nil, nil
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
