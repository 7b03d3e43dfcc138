package elfsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

// gkhLiteralName is the file name of the literal data packet in the encrypted variant. The
// article's script encrypted MODULE.sha1; Sign does not know the module's name.
const gkhLiteralName = "module.sha1"

// gkhMaxPlaintext bounds what Verify reads from a decrypted message (the line is 41 bytes).
const gkhMaxPlaintext = 4096

// gkhRecipientKey returns the OpenPGP public key the encrypted variant is written to: an RSA
// encryption subkey of k's OpenPGP key when it has one (the article's key setup: a sign-only
// primary key and an encrypt-only subkey), else the RSA primary key.
func gkhRecipientKey(k *keys.Material) (*packet.PublicKey, error) {
	e, err := k.OpenPGP()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", formats.ErrKeyType, err)
	}
	isRSA := func(p *packet.PublicKey) bool {
		_, ok := p.PublicKey.(*rsa.PublicKey)
		return ok
	}
	for _, sk := range e.Subkeys {
		if sk.PublicKey != nil && isRSA(sk.PublicKey) && sk.Sig != nil && sk.Sig.FlagsValid && (sk.Sig.FlagEncryptCommunications || sk.Sig.FlagEncryptStorage) {
			return sk.PublicKey, nil
		}
	}
	if !isRSA(e.PrimaryKey) {
		return nil, fmt.Errorf("%w: the encrypted variant needs an RSA key", formats.ErrKeyType)
	}
	return e.PrimaryKey, nil
}

// gkhEncrypt writes the encrypted variant: a public-key encrypted session key packet (tag 1,
// old-format header as gpg writes it) for k's recipient key, then a symmetrically encrypted
// integrity-protected data packet (tag 18, AES-128, MDC) holding one binary literal data
// packet with the plaintext. No compression packet.
func gkhEncrypt(k *keys.Material, plaintext []byte) ([]byte, error) {
	pub, err := gkhRecipientKey(k)
	if err != nil {
		return nil, err
	}
	cfg := &packet.Config{DefaultCipher: packet.CipherAES128}
	key := make([]byte, packet.CipherAES128.KeySize())
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	var pk bytes.Buffer
	if err := packet.SerializeEncryptedKey(&pk, pub, packet.CipherAES128, key, cfg); err != nil {
		return nil, fmt.Errorf("openpgp: %w", err)
	}
	out, err := gpgsig.OldFormat(pk.Bytes())
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	w, err := packet.SerializeSymmetricallyEncrypted(&body, packet.CipherAES128, false, packet.CipherSuite{}, key, cfg)
	if err != nil {
		return nil, fmt.Errorf("openpgp: %w", err)
	}
	lit, err := packet.SerializeLiteral(w, true, gkhLiteralName, 0)
	if err != nil {
		return nil, fmt.Errorf("openpgp: %w", err)
	}
	if _, err := lit.Write(plaintext); err != nil {
		return nil, err
	}
	if err := lit.Close(); err != nil {
		return nil, err
	}
	return append(out, body.Bytes()...), nil
}

// gkhRecipient returns the recipient key id of the first packet when it is a v3 public-key
// encrypted session key packet.
func gkhRecipient(data []byte) (uint64, bool) {
	p, _, err := gpgsig.ReadPacket(data)
	if err != nil || p.Tag != gpgsig.TagPKESK || len(p.Body) < 10 || p.Body[0] != 3 {
		return 0, false
	}
	return binary.BigEndian.Uint64(p.Body[1:9]), true
}

// gkhSecretRing offers every private RSA key the verifier has to go-crypto's message reader
// under whatever key id a session-key packet names: the era had one key, and a key imported
// from PEM has no OpenPGP key id of its own. A wrong key fails the PKCS#1 v1.5 unpadding or
// the session key checksum.
type gkhSecretRing []*packet.PrivateKey

func (r gkhSecretRing) KeysById(id uint64) []openpgp.Key {
	var out []openpgp.Key
	for _, p := range r {
		cp := *p
		cp.KeyId = id
		out = append(out, openpgp.Key{PublicKey: &cp.PublicKey, PrivateKey: &cp})
	}
	return out
}

func (r gkhSecretRing) KeysByIdUsage(id uint64, _ byte) []openpgp.Key { return r.KeysById(id) }

func (r gkhSecretRing) DecryptionKeys() []openpgp.Key { return r.KeysById(0) }

// gkhSecrets collects the RSA private keys of the ring: keys.Ring.Secrets (as their derived
// or imported OpenPGP keys) and the secret keys of OpenPGP keyrings.
func gkhSecrets(ring *keys.Ring) gkhSecretRing {
	var out gkhSecretRing
	if ring == nil {
		return nil
	}
	addEntity := func(e *openpgp.Entity) {
		if e == nil {
			return
		}
		if e.PrivateKey != nil && !e.PrivateKey.Encrypted {
			out = append(out, e.PrivateKey)
		}
		for _, sk := range e.Subkeys {
			if sk.PrivateKey != nil && !sk.PrivateKey.Encrypted {
				out = append(out, sk.PrivateKey)
			}
		}
	}
	for _, m := range ring.Secrets {
		if m.PGP != nil {
			addEntity(m.PGP)
			continue
		}
		if k, ok := m.Signer.(*rsa.PrivateKey); ok {
			out = append(out, packet.NewRSAPrivateKey(m.CreationTime(), k))
		}
	}
	for _, e := range ring.PGP {
		addEntity(e)
	}
	// Keep RSA keys only; go-crypto decrypts ElGamal and ECDH too, but the era had RSA.
	rsaOnly := out[:0]
	for _, p := range out {
		if _, ok := p.PublicKey.PublicKey.(*rsa.PublicKey); ok {
			rsaOnly = append(rsaOnly, p)
		}
	}
	return rsaOnly
}

// gkhVerifyEncrypted decrypts the encrypted variant with the ring's private keys and compares
// the line with the hex SHA-1 of the kernel-rule stream, then the libbfd one.
func gkhVerifyEncrypted(g *gkhFound, ring *keys.Ring,
	digest func(GKHRule, crypto.Hash) ([]byte, error),
	set func(formats.Outcome, error, string, ...any) formats.Verdict,
	matched func(GKHRule, string) formats.Verdict, v *formats.Verdict) formats.Verdict {
	who := "an unknown key"
	if id, ok := gkhRecipient(g.data); ok {
		v.KeyID = fmt.Sprintf("%016X", id)
		who = "key 0x" + v.KeyID
	}
	secrets := gkhSecrets(ring)
	if len(secrets) == 0 {
		return set(formats.Unsupported, nil, "encrypted form; private key needed (encrypted to %s; the article's scheme can be checked only by decrypting)", who)
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(g.data), secrets, nil, &packet.Config{InsecureAllowUnauthenticatedMessages: true})
	if err != nil {
		if _, ok := gkhRecipient(g.data); !ok {
			return set(formats.Corrupt, err, "encrypted message cannot be read: %v", err)
		}
		return set(formats.Unsupported, err, "encrypted form; none of the %d private keys decrypts it (encrypted to %s): %v", len(secrets), who, err)
	}
	line, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, gkhMaxPlaintext))
	if err != nil {
		return set(formats.Corrupt, err, "encrypted message does not decrypt cleanly: %v", err)
	}
	if md.DecryptedWith.Entity != nil {
		if pi := md.DecryptedWith.Entity.PrimaryIdentity(); pi != nil {
			v.Signer = pi.Name
		}
	}
	for _, r := range []GKHRule{GKHKernelRule, GKHLibbfdRule} {
		d, err := digest(r, crypto.SHA1)
		if err != nil {
			return set(formats.Corrupt, err, "cannot hash the %s-rule stream: %v", r, err)
		}
		want := hex.EncodeToString(d) + "\n"
		if string(line) == want {
			return matched(r, who)
		}
		if string(bytes.TrimSpace(bytes.ToLower(line))) == want[:40] {
			v.Notes = append(v.Notes, "decrypted line differs from sha1sum's output in case or whitespace")
			return matched(r, who)
		}
	}
	return set(formats.BadSignature, gpgsig.ErrBadSignature, "decrypted digest %q is not the module's: the module was changed after signing", bytes.TrimSpace(line))
}
