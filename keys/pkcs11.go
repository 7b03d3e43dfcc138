//go:build cgo && pkcs11

package keys

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"sync"

	"github.com/ThalesGroup/crypto11"
)

// This file is built with `-tags pkcs11` (and cgo): it teaches LoadFile to open `pkcs11:`
// URIs through github.com/ThalesGroup/crypto11. The default build has no cgo dependency and
// refuses such URIs with a message saying how to build this support.

func init() { pkcs11Open = openPKCS11 }

var (
	p11mu   sync.Mutex
	p11ctxs = map[string]*p11Shared{}
)

// p11Shared is one token session shared by every Material loaded from that token.
type p11Shared struct {
	ctx  *crypto11.Context
	refs int
}

// p11Context returns one crypto11 context per module and token, opened and logged in on
// first use and shared by the keys loaded from it, because a second login to the same token
// from one process is refused by some modules; each key's Signer needs the context's session
// pool. The caller owns one reference and gives it back with the returned release, which
// closes the context (logout, unload) with the last reference.
func p11Context(u *PKCS11URI) (*crypto11.Context, func() error, error) {
	mod, err := u.Module()
	if err != nil {
		return nil, nil, err
	}
	pin, havePIN, err := u.PIN()
	if err != nil {
		return nil, nil, err
	}
	cfg := &crypto11.Config{Path: mod, TokenLabel: u.Token, TokenSerial: u.Serial, SlotNumber: u.SlotID,
		Pin: pin, LoginNotSupported: !havePIN}
	if cfg.TokenLabel == "" && cfg.TokenSerial == "" && cfg.SlotNumber == nil {
		return nil, nil, fmt.Errorf("%w: give token=, serial= or slot-id= to select the token", ErrPKCS11URI)
	}
	slot := -1
	if u.SlotID != nil {
		slot = *u.SlotID
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s", mod, u.Token, u.Serial, slot, pin)
	p11mu.Lock()
	defer p11mu.Unlock()
	sh := p11ctxs[key]
	if sh == nil {
		c, err := crypto11.Configure(cfg)
		if err != nil {
			return nil, nil, err
		}
		sh = &p11Shared{ctx: c}
		p11ctxs[key] = sh
	}
	sh.refs++
	var once sync.Once
	release := func() (err error) {
		once.Do(func() {
			p11mu.Lock()
			defer p11mu.Unlock()
			if sh.refs--; sh.refs == 0 {
				delete(p11ctxs, key)
				err = sh.ctx.Close()
			}
		})
		return err
	}
	return sh.ctx, release, nil
}

// openPKCS11 loads the private key a `pkcs11:` URI names (ParsePKCS11URI): the token by
// label, serial or slot, the key by object label and/or id, the PIN from pin-value,
// pin-source or KBUILD_SIGN_PIN. A certificate with the same id/label on the token, if any,
// becomes Material.Cert (else give --cert, or let kmodsig derive one). Only RSA and ECDSA
// keys are used (what crypto11 exposes as a crypto.Signer).
func openPKCS11(uri string) (m *Material, err error) {
	red := RedactPKCS11URI(uri)
	u, err := ParsePKCS11URI(uri)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", red, err)
	}
	c, release, err := p11Context(u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", red, err)
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	attrs := crypto11.NewAttributeSet()
	if len(u.ID) > 0 {
		if err := attrs.Set(crypto11.CkaId, u.ID); err != nil {
			return nil, err
		}
	}
	if u.Object != "" {
		if err := attrs.Set(crypto11.CkaLabel, []byte(u.Object)); err != nil {
			return nil, err
		}
	}
	signers, err := c.FindKeyPairsWithAttributes(attrs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", red, err)
	}
	switch len(signers) {
	case 0:
		if _, havePIN, _ := u.PIN(); !havePIN {
			// Without a login a token shows no private key: that, not the key, is missing.
			return nil, fmt.Errorf("%s: %w: no private key visible without logging in; give the PIN (pin-value= or pin-source= in the URI, or %s)", red, ErrNoKey, PINEnv)
		}
		return nil, fmt.Errorf("%s: %w: no private key with a matching public key on the token", red, ErrNoKey)
	case 1:
	default:
		return nil, fmt.Errorf("%s: %w: %d keys match; add id= or object=", red, ErrPKCS11URI, len(signers))
	}
	s := signers[0]
	switch s.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("%s: %w: unsupported token key type %s", red, ErrNoKey, TypeName(s.Public()))
	}
	m = &Material{Signer: s, Source: red, release: release}
	var label []byte
	if u.Object != "" {
		label = []byte(u.Object)
	}
	if cert, err := c.FindCertificate(u.ID, label, nil); err == nil && cert != nil && SamePublic(cert.PublicKey, s.Public()) {
		m.Cert = cert
	}
	return m, nil
}
