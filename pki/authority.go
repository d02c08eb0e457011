package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Authority is the lab's PKI: the trusted root, the issuing intermediate
// CA under it that signs the lab's leaves, as public CAs sign theirs, a
// second root that clients do not trust, and the interception root. [New]
// creates the second and third roots on first use, so that a lab that
// needs neither does not pay for their keys; [Open] loads all three, or
// creates them at once. The issuing CA is made anew with every Authority,
// by [New] and [Open] alike, and never saved: trust is anchored in the
// root, which is what is kept, and servers send the issuing CA along with
// their leaves. It is safe for concurrent use.
type Authority struct {
	cfg     config
	root    *CA
	issuing *CA

	untrusted    func() (*CA, error)
	interception func() (*Interceptor, error)
	revokedInter func() (*CA, error)
	// created records the lazy roots once they exist, for OCSP routing,
	// which must not create them.
	createdUntrusted    atomic.Pointer[CA]
	createdInterception atomic.Pointer[CA]
	createdRevokedInter atomic.Pointer[CA]
}

// Names of the three roots.
const (
	RootName         = "egresslab Lab Root CA"
	UntrustedName    = "egresslab Untrusted Root CA"
	InterceptionName = "egresslab Interception Root"
)

// New creates an Authority. Options apply to all three roots. To keep the
// roots across runs, see [Open].
func New(opts ...Option) (*Authority, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	root, err := newCA(RootName, cfg)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return newAuthority(cfg, root,
		func() (*CA, error) { return newCA(UntrustedName, cfg) },
		func() (*CA, error) { return newCA(InterceptionName, cfg) })
}

// newAuthority makes an Authority of its trusted root and of the
// functions that give the other two, which it calls once, on first use,
// and creates the issuing CA under the root.
func newAuthority(cfg config, root *CA, untrusted, interception func() (*CA, error)) (*Authority, error) {
	issuing, err := newIntermediate(root, IssuingName, IssuingCRLFile)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	a := &Authority{cfg: cfg, root: root, issuing: issuing}
	a.untrusted = sync.OnceValues(func() (*CA, error) {
		ca, err := untrusted()
		if err == nil {
			a.createdUntrusted.Store(ca)
		}
		return ca, err
	})
	a.interception = sync.OnceValues(func() (*Interceptor, error) {
		ca, err := interception()
		if err != nil {
			return nil, err
		}
		a.createdInterception.Store(ca)
		return NewInterceptor(ca)
	})
	a.revokedInter = sync.OnceValues(func() (*CA, error) {
		ca, err := newRevokedIntermediate(a.root)
		if err == nil {
			a.createdRevokedInter.Store(ca)
		}
		return ca, err
	})
	return a, nil
}

var errZeroAuthority = errors.New("pki: Authority not created with pki.New or pki.Open")

// Root returns the trusted root.
func (a *Authority) Root() *CA { return a.root }

// Issuing returns the issuing CA, the intermediate under the trusted root
// that signs the lab's leaves (all but those of [SelfSigned],
// [UntrustedRoot] and [RevokedIntermediate]). It is made anew with every
// Authority and not saved (see [Open]).
func (a *Authority) Issuing() *CA { return a.issuing }

// Untrusted returns the second root, which clients do not trust.
func (a *Authority) Untrusted() (*CA, error) {
	if a.untrusted == nil {
		return nil, errZeroAuthority
	}
	return a.untrusted()
}

// Interception returns the interception root's minter.
func (a *Authority) Interception() (*Interceptor, error) {
	if a.interception == nil {
		return nil, errZeroAuthority
	}
	return a.interception()
}

// Pool returns a new pool holding the trusted root: what a lab client trusts.
func (a *Authority) Pool() *x509.CertPool {
	if a.root == nil {
		return x509.NewCertPool()
	}
	return a.root.Pool()
}

// Request asks for a leaf certificate.
type Request struct {
	// Hosts are the DNS names (or "*.example.com" wildcards) and IP
	// literals the certificate is for; the first is the subject's common
	// name. At least one is required, even for WrongHost.
	Hosts []string
	// Fault is the certificate fault to reproduce; NoFault by default.
	Fault Fault
	// KeyType, when set, is the leaf's key type; nil means the
	// Authority's (WithKeyType). The issuer signs with its own key
	// whatever the leaf's type: an RSA leaf under an ECDSA root is valid,
	// as the mixed chains of public CAs are.
	KeyType *KeyType
}

// Issue issues a leaf certificate for req.Hosts with req.Fault. The
// issuing CA ([Authority.Issuing]) signs it, and its chain (Leaf.TLS) is
// the leaf and the issuing CA, as a public CA's leaf is served; except
// for SelfSigned (the leaf alone), UntrustedRoot (signed by the untrusted
// root, sent along) and RevokedIntermediate (signed by the revoked
// intermediate, sent along).
func (a *Authority) Issue(req Request) (*Leaf, error) {
	if a.root == nil || a.issuing == nil {
		return nil, errZeroAuthority
	}
	names, err := normalizeHosts(req.Hosts)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	now := a.cfg.now()
	spec := leafSpec{names: names, notBefore: now.Add(-backdate), notAfter: now.Add(LeafValidity)}
	if req.KeyType != nil {
		if spec.key, err = req.KeyType.generate(); err != nil {
			return nil, fmt.Errorf("issue %s: %w", names[0], err)
		}
	}
	issuer := a.issuing
	switch req.Fault {
	case NoFault:
	case Expired:
		spec.notBefore, spec.notAfter = now.Add(-LeafValidity), now.Add(-24*time.Hour)
	case NotYetValid:
		spec.notBefore, spec.notAfter = now.Add(24*time.Hour), now.Add(LeafValidity)
	case WrongHost:
		for _, n := range names {
			if n == WrongHostName {
				return nil, fmt.Errorf("issue %s: fault %s does not apply: the host is the wrong-host name itself", n, req.Fault)
			}
		}
		spec.names = []string{WrongHostName}
	case SelfSigned:
		return a.selfSigned(spec)
	case UntrustedRoot:
		if issuer, err = a.Untrusted(); err != nil {
			return nil, fmt.Errorf("issue %s: %w", names[0], err)
		}
	case RevokedIntermediate:
		if a.revokedInter == nil {
			return nil, errZeroAuthority
		}
		if issuer, err = a.revokedInter(); err != nil {
			return nil, fmt.Errorf("issue %s: %w", names[0], err)
		}
	case Revoked:
		if issuer.cfg.ocspURL == "" && len(issuer.cfg.crlURLs) == 0 {
			return nil, fmt.Errorf("issue %s: fault %s does not apply: the CA has neither an OCSP URL nor a CRL distribution point, so no client could learn of the revocation", names[0], req.Fault)
		}
	default:
		return nil, fmt.Errorf("issue %s: %w", names[0], errUnknownFault(req.Fault))
	}
	leaf, err := issuer.issue(spec)
	if err != nil {
		return nil, err
	}
	leaf.Fault = req.Fault
	// Send the issuer along: the intermediate, as servers send theirs,
	// or, for UntrustedRoot, the untrusted root, as an inspecting product
	// does with its own root: the client then meets a root it does not
	// trust (OpenSSL error 19, Windows CERT_E_UNTRUSTEDROOT) rather than
	// a missing issuer (error 20, CERT_E_CHAINING).
	leaf.TLS.Certificate = append(leaf.TLS.Certificate, issuer.cert.Raw)
	if req.Fault == Revoked {
		if err := issuer.Revoke(leaf.Cert.SerialNumber, now, ocsp.KeyCompromise); err != nil {
			return nil, err
		}
	}
	return leaf, nil
}

func errUnknownFault(f Fault) error {
	_, err := ParseFault(string(f))
	if err == nil {
		err = fmt.Errorf("unknown certificate fault %q", string(f))
	}
	return err
}

// selfSigned makes a leaf that is its own issuer, with no OCSP URL nor CRL: no CA
// stands behind it.
func (a *Authority) selfSigned(spec leafSpec) (*Leaf, error) {
	leaf, err := signLeaf(spec, a.cfg.keyType, "", nil, nil, nil) // spec.key, when set, wins
	if err != nil {
		return nil, err
	}
	leaf.Fault = SelfSigned
	return leaf, nil
}
