//lint:file-ignore SA1019 DSA (crypto/dsa) is what the RHEL-era kernels verify; it is needed to read and write them.

package keys

import (
	"bytes"
	"crypto"
	"crypto/dsa" //nolint:staticcheck // RHEL eras verify only DSA
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ErrOpenPGPKeyType reports key material that cannot become an OpenPGP key for module
// signing (only RSA and DSA keys can: those are what the OpenPGP-era kernels verified).
var ErrOpenPGPKeyType = errors.New("only RSA and DSA keys have an OpenPGP form for module signing")

// pgpMu guards the derivation and caching of Material.PGP.
var pgpMu sync.Mutex

// pgpConfig makes go-crypto's signatures deterministic for RSA: no random salt notation.
func pgpConfig(t time.Time) *packet.Config {
	f := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA256,
		NonDeterministicSignaturesViaNotation: &f,
		Time:                                  func() time.Time { return t },
	}
}

// OpenPGP returns m's OpenPGP key: m.PGP when it was imported from gpg, else an OpenPGP v4
// key derived from the private key and stored in m.PGP. The derived key has creation time
// m.CreationTime() and one user id, m.UID(), bound by a positive self-certification (class
// 0x13) whose creation time is the key's, with SHA-256, key flags sign+certify, the Issuer
// and Issuer Fingerprint subpackets and nothing random, so an RSA key always gives the same
// bytes, fingerprint and key id. A DSA key's self-signature is randomised (go-crypto signs
// DSA with crypto/dsa's random nonces), but its fingerprint and key id are still fixed;
// gpgsig.PublicKeyring re-signs it with an RFC 6979 nonce. Other key types wrap
// [ErrOpenPGPKeyType].
//
// It is safe for concurrent use (batch signing shares one Material across workers).
func (m *Material) OpenPGP() (*openpgp.Entity, error) {
	pgpMu.Lock()
	defer pgpMu.Unlock()
	if m.PGP != nil {
		return m.PGP, nil
	}
	created := m.CreationTime().Truncate(time.Second)
	var priv *packet.PrivateKey
	switch {
	case m.DSA != nil:
		priv = packet.NewDSAPrivateKey(created, m.DSA)
	case m.Signer != nil:
		switch k := m.Signer.(type) {
		case *rsa.PrivateKey:
			priv = packet.NewRSAPrivateKey(created, k)
		default:
			pub, ok := m.Signer.Public().(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("%w (have %s)", ErrOpenPGPKeyType, TypeName(m.Signer.Public()))
			}
			// A token or agent RSA key (PKCS#11): go-crypto's RSA signing goes through
			// crypto.Signer, but its NewSignerPrivateKey panics on any signer type it does
			// not know, so the private key packet is put together here.
			priv = &packet.PrivateKey{PublicKey: *packet.NewRSAPublicKey(created, pub), PrivateKey: m.Signer}
		}
	default:
		return nil, fmt.Errorf("%w: no private key", ErrOpenPGPKeyType)
	}
	pub := &priv.PublicKey
	uid := &packet.UserId{Id: m.UID()}
	keyID := pub.KeyId
	sig := &packet.Signature{
		Version:           4,
		SigType:           packet.SigTypePositiveCert,
		PubKeyAlgo:        pub.PubKeyAlgo,
		Hash:              crypto.SHA256,
		CreationTime:      created,
		IssuerKeyId:       &keyID,
		IssuerFingerprint: pub.Fingerprint,
		FlagsValid:        true,
		FlagSign:          true,
		FlagCertify:       true,
	}
	if err := sig.SignUserId(uid.Id, pub, priv, pgpConfig(created)); err != nil {
		return nil, fmt.Errorf("openpgp self-signature: %w", err)
	}
	e := &openpgp.Entity{
		PrimaryKey: pub,
		PrivateKey: priv,
		Identities: map[string]*openpgp.Identity{
			uid.Id: {Name: uid.Id, UserId: uid, SelfSignature: sig, Signatures: []*packet.Signature{sig}},
		},
	}
	m.PGP, m.pgpDerived = e, true
	return e, nil
}

// OpenPGPDerived reports whether m's OpenPGP key was derived by [Material.OpenPGP] (so that
// its self-signature is kmodsig's own) rather than imported from gpg.
func (m *Material) OpenPGPDerived() bool {
	pgpMu.Lock()
	defer pgpMu.Unlock()
	return m.pgpDerived
}

// KeyID returns the 8-byte OpenPGP key id of e's primary key (the low 64 bits of its v4
// fingerprint), the id module signatures name in their Issuer subpacket.
func KeyID(e *openpgp.Entity) uint64 { return e.PrimaryKey.KeyId }

// OpenPGPKeyID returns the v4 key id pub would have as an OpenPGP key created at created
// (RSA and DSA public keys; ok is false for others). It lets a ring match a bare key or a
// certificate against a signature's Issuer subpacket.
func OpenPGPKeyID(pub crypto.PublicKey, created time.Time) (id uint64, ok bool) {
	created = created.Truncate(time.Second)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return packet.NewRSAPublicKey(created, k).KeyId, true
	case *dsa.PublicKey:
		return packet.NewDSAPublicKey(created, k).KeyId, true
	}
	return 0, false
}

// OpenPGPPublicKeyring returns m's OpenPGP public key (key packet, user id, self-signature,
// any subkeys) as a binary keyring in the form `gpg --export` writes, old-format packet
// headers included: the modsign.pub the OpenPGP-era kernels embedded.
func (m *Material) OpenPGPPublicKeyring() ([]byte, error) {
	e, err := m.OpenPGP()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		return nil, err
	}
	return oldFormatPackets(buf.Bytes())
}

// oldFormatPackets re-frames a packet stream with old-format headers (shortest length field)
// for tags below 16, as GnuPG writes them. It is deliberately tiny; gpgsig has the full codec.
func oldFormatPackets(b []byte) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		ctb := b[0]
		if ctb&0x80 == 0 {
			return nil, fmt.Errorf("openpgp: bad packet header 0x%02x", ctb)
		}
		var tag byte
		var hl, n int
		if ctb&0x40 == 0 {
			tag = (ctb >> 2) & 0x0f
			lb := [4]int{1, 2, 4, 0}[ctb&3]
			if lb == 0 || len(b) < 1+lb {
				return nil, fmt.Errorf("openpgp: bad or truncated header")
			}
			hl = 1 + lb
			for _, c := range b[1:hl] {
				n = n<<8 | int(c)
			}
		} else {
			tag = ctb & 0x3f
			if len(b) < 2 {
				return nil, fmt.Errorf("openpgp: truncated header")
			}
			switch o := int(b[1]); {
			case o < 192:
				hl, n = 2, o
			case o < 224:
				if len(b) < 3 {
					return nil, fmt.Errorf("openpgp: truncated header")
				}
				hl, n = 3, (o-192)<<8+int(b[2])+192
			case o == 255:
				if len(b) < 6 {
					return nil, fmt.Errorf("openpgp: truncated header")
				}
				hl, n = 6, int(b[2])<<24|int(b[3])<<16|int(b[4])<<8|int(b[5])
			default:
				return nil, fmt.Errorf("openpgp: partial length")
			}
		}
		if n < 0 || n > len(b)-hl {
			return nil, fmt.Errorf("openpgp: packet overruns the stream")
		}
		body := b[hl : hl+n]
		switch {
		case tag > 15:
			out = append(out, b[:hl]...)
		case n < 256:
			out = append(out, 0x80|tag<<2, byte(n))
		case n < 65536:
			out = append(out, 0x80|tag<<2|1, byte(n>>8), byte(n))
		default:
			out = append(out, 0x80|tag<<2|2, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		out = append(out, body...)
		b = b[hl+n:]
	}
	return out, nil
}
