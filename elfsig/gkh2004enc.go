package elfsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"

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
// version 3, RSA, old-format header as gpg writes it) for k's recipient key, then a
// symmetrically encrypted integrity-protected data packet (tag 18, AES-128, MDC) holding one
// binary literal data packet with the plaintext. No compression packet. With o.Deterministic
// every random input (session key, PKCS#1 v1.5 padding, the cipher's random prefix) comes
// from a SHA-256 counter stream seeded with the recipient's fingerprint and the plaintext, so
// outputs are reproducible (the command line's default; `--randomize` draws them at random);
// the plaintext is a public digest, so this hides nothing the module does not already show.
func gkhEncrypt(k *keys.Material, plaintext []byte, o formats.SignOptions) ([]byte, error) {
	pub, err := gkhRecipientKey(k)
	if err != nil {
		return nil, err
	}
	var rnd io.Reader = rand.Reader
	if o.Deterministic {
		rnd = newGKHDetRand(pub.Fingerprint, plaintext)
	}
	cfg := &packet.Config{DefaultCipher: packet.CipherAES128, Rand: rnd}
	key := make([]byte, packet.CipherAES128.KeySize())
	if _, err := io.ReadFull(rnd, key); err != nil {
		return nil, err
	}
	out, err := gkhPKESK(pub, key, rnd, o.Deterministic)
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

// gkhPKESK writes a version 3 public-key encrypted session key packet (RFC 4880 §5.1) for an
// RSA key: 03 ‖ key id ‖ algorithm ‖ MPI(c), c the PKCS#1 v1.5 encryption of
// cipher ‖ session key ‖ checksum. deterministic draws the padding from rnd (Go's
// rsa.EncryptPKCS1v15 ignores its reader since Go 1.26).
func gkhPKESK(pub *packet.PublicKey, key []byte, rnd io.Reader, deterministic bool) ([]byte, error) {
	rk, ok := pub.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the encrypted variant needs an RSA key", formats.ErrKeyType)
	}
	msg := []byte{byte(packet.CipherAES128)}
	msg = append(msg, key...)
	var sum uint16
	for _, c := range key {
		sum += uint16(c)
	}
	msg = binary.BigEndian.AppendUint16(msg, sum)
	var c []byte
	if deterministic {
		kb := (rk.N.BitLen() + 7) / 8
		if len(msg) > kb-11 {
			return nil, fmt.Errorf("%w: RSA key too small", formats.ErrKeyType)
		}
		em := make([]byte, kb)
		em[1] = 2
		ps := em[2 : kb-len(msg)-1]
		one := make([]byte, 1)
		for i := range ps {
			for one[0] == 0 {
				if _, err := io.ReadFull(rnd, one); err != nil {
					return nil, err
				}
			}
			ps[i], one[0] = one[0], 0
		}
		copy(em[kb-len(msg):], msg)
		c = new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(rk.E)), rk.N).Bytes()
	} else {
		var err error
		//lint:ignore SA1019 the 2004 article's scheme is an OpenPGP message, RSA PKCS#1 v1.5 encrypted (RFC 4880)
		if c, err = rsa.EncryptPKCS1v15(rand.Reader, rk, msg); err != nil {
			return nil, fmt.Errorf("openpgp: %w", err)
		}
	}
	mpi := new(big.Int).SetBytes(c)
	body := []byte{3}
	body = binary.BigEndian.AppendUint64(body, pub.KeyId)
	body = append(body, byte(pub.PubKeyAlgo))
	body = binary.BigEndian.AppendUint16(body, uint16(mpi.BitLen()))
	body = append(body, mpi.Bytes()...)
	out, err := gpgsig.AppendHeader(nil, gpgsig.TagPKESK, false, 0, len(body))
	if err != nil {
		return nil, err
	}
	return append(out, body...), nil
}

// gkhDetRand is the deterministic random stream of gkhEncrypt: SHA-256(seed ‖ be64 counter)
// blocks.
type gkhDetRand struct {
	seed [32]byte
	ctr  uint64
	buf  []byte
}

func newGKHDetRand(fingerprint, plaintext []byte) *gkhDetRand {
	h := sha256.New()
	h.Write([]byte("kmodsig gkh2004 deterministic encryption\x00"))
	h.Write(fingerprint)
	h.Write(plaintext)
	r := &gkhDetRand{}
	copy(r.seed[:], h.Sum(nil))
	return r
}

func (r *gkhDetRand) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.buf) == 0 {
			b := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(nil), r.seed[:]...), r.ctr))
			r.ctr++
			r.buf = b[:]
		}
		c := copy(p[n:], r.buf)
		r.buf = r.buf[c:]
		n += c
	}
	return n, nil
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
