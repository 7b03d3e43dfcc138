package gpgsig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// ID is the format id of the Howells 2012 appended GPG trailer.
const ID = "gpg2012"

// Kernel models of [Driver.Verify] (formats.Policy.Kernel).
const (
	// KernelHowells is the default: the dhowells modsign tree after the 2012-08-02 series
	// ("MODSIGN: Allow modules to be signed with an unknown key": an unknown key is accepted
	// when not enforcing) and after "RSA: Fix signature verification for shorter signatures".
	KernelHowells = "howells-2012"
	// KernelHowellsEarly is the same code before those changes: an unknown key is ENOKEY even
	// when not enforcing, and an RSA signature MPI shorter than the modulus is EBADMSG.
	KernelHowellsEarly = "howells-2012-early"
)

// Kernels lists the kernel models Verify knows (formats.KernelModeler).
func (Driver) Kernels() []string { return []string{KernelHowells, KernelHowellsEarly} }

// ModelsKernel reports whether name is one of Kernels (formats.KernelModeler).
func (d Driver) ModelsKernel(name string) bool { return slices.Contains(d.Kernels(), name) }

// ErrnoEOPNOTSUPP is what the Howells parser returned for a signature class other than 0x00
// or 0x02 (errno 95 on x86-64). formats has no constant for it.
const ErrnoEOPNOTSUPP formats.Errno = "EOPNOTSUPP"

// LengthField is the size of the `%-5s` ASCII length before the magic.
const LengthField = 5

// MaxSigLen is the largest signature the 5-character decimal length can describe.
const MaxSigLen = 99999

// now is the verification time (the kernel checks key expiry when the module loads).
var now = time.Now

// Driver is the gpg2012 format: `payload ‖ gpg -b signature ‖ printf %-5s len ‖
// "This Is A Crypto Signed Module"`, RSA OpenPGP v4 keys, verified the way the 2012 Howells
// kernels did.
type Driver struct{}

func init() { formats.Register(Driver{}) }

// ID returns "gpg2012".
func (Driver) ID() string { return ID }

// Info describes the format.
func (Driver) Info() formats.Info {
	return formats.Info{
		ID:        ID,
		Era:       "Howells modsign tree, 2011-2012 (appended GPG signature, never merged)",
		Container: "appended: OpenPGP signature ‖ %-5s length ‖ \"This Is A Crypto Signed Module\"",
		KeyTypes:  []string{"rsa"},
		Hashes:    []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"},
		Order:     20,
	}
}

// trailer is the located gpg2012 trailer.
type trailer struct {
	sigOff, sigLen int64 // the OpenPGP packet
	payloadLen     int64
	lenOff         int64 // the 5-byte length field
}

// locate finds the trailer from the end of m. It checks the magic, the `%-5s` length and
// that the length fits (FORMATS.md gpg2012 parse rules 1-4); the signature is not parsed.
func locate(m formats.Module) (*trailer, error) {
	l := formats.ReadMagic30Length(m)
	if l == nil {
		return nil, &formats.FormatError{Path: m.Name, Format: ID, Off: -1, Msg: "no \"" + formats.Magic30 + "\" at end of file", Err: formats.ErrNotSigned}
	}
	if l.Off35 < 0 || !l.ASCIIOK {
		off := l.Off35
		if off < 0 {
			off = 0
		}
		return nil, formats.Errorf(m, ID, off, "length before the magic is not a %%-5s decimal number")
	}
	t := &trailer{sigLen: l.ASCII, lenOff: l.Off35}
	if t.sigLen == 0 || t.sigLen >= l.Off35 {
		return nil, formats.Errorf(m, ID, l.Off35, "signature length %d does not fit in the %d bytes before it", t.sigLen, l.Off35)
	}
	t.sigOff = l.Off35 - t.sigLen
	t.payloadLen = t.sigOff
	return t, nil
}

// readSig reads and parses the signature packet of t; it must fill exactly sigLen bytes.
func readSig(m formats.Module, t *trailer) (*Sig, []byte, error) {
	raw, err := m.ReadAt(ID, t.sigOff, t.sigLen)
	if err != nil {
		return nil, nil, err
	}
	s, n, err := ParseSig(raw)
	if err != nil {
		return nil, raw, Rebase(err, m, ID, t.sigOff)
	}
	if int64(n) != t.sigLen {
		return nil, raw, &formats.FormatError{Path: m.Name, Format: ID, Off: t.sigOff + int64(n),
			Msg: fmt.Sprintf("signature packet of %d bytes, length field says %d", n, t.sigLen), Err: ErrMalformed}
	}
	return s, raw, nil
}

// Detect applies FORMATS.md Detection step 2 for gpg2012: the magic at EOF, 1-5 ASCII digits
// then spaces before it, a length that fits, and an OpenPGP signature packet header (88, 89,
// 8a or c2) at −35−L whose own length is exactly L. A digsig2012 trailer (binary be16 length)
// never matches.
func (Driver) Detect(m formats.Module) bool {
	// FORMATS.md Detection step 2: MAGIC30 at the end, and before it five bytes of text (the
	// `%-5s` length field). digsig2012 claims the trailers whose byte at -32 could start a
	// binary be16 length (below 0x20), which is never text, so the two claims are disjoint.
	// A text field that does not parse, or a length that does not frame exactly one OpenPGP
	// signature packet, is still ours: Parse and Verify report it as a corrupt gpg2012 trailer
	// (what a Howells kernel rejected), not as an unsigned module.
	l := formats.ReadMagic30Length(m)
	return l != nil && l.Off35 >= 0 && textLengthField(m, l.Off35)
}

// Parse reports what the signature claims: key id (modinfo's sig_key), hash, algorithm and
// where the parts lie.
func (Driver) Parse(m formats.Module) (*formats.Signature, error) {
	t, err := locate(m)
	if err != nil {
		return nil, err
	}
	s, _, err := readSig(m, t)
	if err != nil {
		return nil, err
	}
	sig := &formats.Signature{
		Format:     ID,
		Era:        Driver{}.Info().Era,
		SigID:      "PGP",
		KeyID:      keyIDBytes(s.KeyID),
		PayloadLen: t.payloadLen,
		Offset:     t.sigOff,
		Length:     m.Size - t.sigOff,
		PublicKey:  AlgoName(s.PubKeyAlgo),
		HashAlgo:   HashName(s.HashAlgo),
		Time:       s.Created,
	}
	for _, mp := range s.MPIs {
		sig.Value = append(sig.Value, mp.Bytes...)
	}
	if s.Version != 4 {
		sig.Notes = append(sig.Notes, fmt.Sprintf("v%d signature: the Howells kernels never verified these (they hashed the v3 trailer one byte early)", s.Version))
	}
	if s.IssuerCount != 1 {
		sig.Notes = append(sig.Notes, fmt.Sprintf("%d Issuer subpackets: the kernel required exactly one (EBADMSG)", s.IssuerCount))
	}
	return sig, nil
}

// Strip returns the payload: every byte before the signature. The signature itself need
// not parse; the trailer's length must.
func (Driver) Strip(m formats.Module) ([]byte, error) {
	t, err := locate(m)
	if err != nil {
		return nil, err
	}
	return m.ReadAt(ID, 0, t.payloadLen)
}

// DefaultHash is the hash Sign uses when SignOptions.Hash is zero: SHA-1, the first (and so
// default) choice of the era's "Which hash algorithm should modules be signed with?" Kconfig
// menu [inferred: the 2012 tree's Kconfig choice lists SHA-1 first with no explicit default].
const DefaultHash = crypto.SHA1

// signHashes are the digests `--digest-algo` could be given by the era's build
// (CONFIG_MODULE_SIG_SHA*), plus MD5, which the kernel accepted but is only written with Force.
var signHashes = map[crypto.Hash]bool{crypto.MD5: true, crypto.SHA1: true, crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true}

// Sign appends a gpg2012 trailer to unsigned: a v4 OpenPGP signature shaped like GnuPG's
// (see [SignDetached]) over the whole input, its length as `%-5d` and the magic, as the
// tree's Makefile.modpost did with `gpg -b` and `printf %-5s`. The hash is o.Hash (default
// [DefaultHash]); MD5 needs o.Force. The signature time is o.Time, else the key's creation
// time, so RSA output is byte-reproducible. The era's kernel verified only RSA: a DSA key
// is refused with formats.ErrKeyType unless o.Force (and then verifies as ENOPKG); other
// key types are always refused.
func (Driver) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	h := o.Hash
	if h == 0 {
		h = DefaultHash
	}
	if !signHashes[h] {
		return nil, fmt.Errorf("%w: %s (use sha1, sha224, sha256, sha384 or sha512)", formats.ErrHash, formats.HashName(h))
	}
	if h == crypto.MD5 {
		if !o.Force {
			return nil, fmt.Errorf("%w: md5 is broken; the kernel accepted it, pass --force to write it anyway", formats.ErrHash)
		}
		o.Warnf("gpg2012: signing with MD5, which is broken (forced)")
	}
	switch {
	case k.DSA != nil:
		if !o.Force {
			return nil, fmt.Errorf("%w: the 2012 Howells kernels verified only RSA; a DSA signature gets ENOPKG (pass --force to write it anyway)", formats.ErrKeyType)
		}
		o.Warnf("gpg2012: signing with a DSA key (forced): the era's kernel returns ENOPKG for it")
	case k.Signer == nil:
		return nil, fmt.Errorf("%w: no private key", formats.ErrKeyType)
	default:
		if _, err := k.OpenPGP(); err != nil {
			return nil, fmt.Errorf("%w: %v", formats.ErrKeyType, err)
		}
	}
	t := o.Time
	if t.IsZero() {
		t = k.CreationTime()
	}
	sig, err := SignDetachedOpts(bytes.NewReader(unsigned), k, h, t, o)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	if len(sig) > MaxSigLen {
		return nil, fmt.Errorf("%w: signature of %d bytes does not fit the 5-digit length", formats.ErrTooLarge, len(sig))
	}
	return formats.AppendMagic30(unsigned, sig, []byte(fmt.Sprintf("%-5d", len(sig)))), nil
}

// ExportKey writes k's OpenPGP public key as a binary keyring, the modsign.pub that the
// era's build compiled into the kernel. DSA keys are refused unless o.Force (the kernel
// could not use them).
func (Driver) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	if k.DSA != nil && !o.Force {
		return nil, "", fmt.Errorf("%w: the 2012 Howells kernels verified only RSA keys", formats.ErrKeyType)
	}
	b, err := k.OpenPGPPublicKeyring()
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", formats.ErrKeyType, err)
	}
	return b, "modsign.pub", nil
}

// Verify checks m as the 2012 Howells kernels did (FORMATS.md rhel6 variant rsa, shared
// with gpg2012) and returns their result in both modes. p.Kernel selects
// [KernelHowells] (default; unknown key accepted when not enforcing) or
// [KernelHowellsEarly]. Outcomes:
//
//   - no trailer: unsigned (OK / EKEYREJECTED);
//   - trailer length unreadable or too large: corrupt (ELIBBAD);
//   - signature packet malformed, not exactly one Issuer subpacket, bad RSA padding:
//     corrupt or bad-signature (EBADMSG);
//   - class other than 0x00/0x02: unsupported (EOPNOTSUPP);
//   - DSA or other non-RSA algorithm, or unknown hash: unsupported (ENOPKG);
//   - issuer key id not in ring: unknown-key (OK or, early, ENOKEY / ENOKEY);
//   - key expired (self-signature Key Expiration Time): expired (EKEYEXPIRED);
//   - digest mismatch, and every v3 signature: bad-signature (EKEYREJECTED);
//   - otherwise ok.
//
// The verdict names the key id looked for (16 hex digits).
func (Driver) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	early := p.Kernel == KernelHowellsEarly
	v := formats.Verdict{Format: ID, Kernel: KernelHowells}
	if early {
		v.Kernel = KernelHowellsEarly
	}
	set := func(o formats.Outcome, perm, enf formats.Errno, err error, reason string, args ...any) formats.Verdict {
		v.Outcome, v.Permissive, v.Enforcing, v.Err = o, perm, enf, err
		v.Reason = fmt.Sprintf(reason, args...)
		return v
	}
	t, err := locate(m)
	if err != nil {
		if errors.Is(err, formats.ErrNotSigned) {
			return set(formats.Unsigned, formats.ErrnoOK, formats.ErrnoEKEYREJECTED, nil, "module carries no gpg2012 signature")
		}
		return set(formats.Corrupt, formats.ErrnoELIBBAD, formats.ErrnoELIBBAD, err, "gpg2012 trailer is malformed: %v", err)
	}
	s, _, err := readSig(m, t)
	if err != nil {
		return set(formats.Corrupt, formats.ErrnoEBADMSG, formats.ErrnoEBADMSG, err, "signature packet is corrupt: %v", err)
	}
	return HowellsVerify(v, s, m.Reader(0, t.payloadLen), ring, early)
}

// shortMPI reports whether an RSA signature MPI has fewer bytes than the modulus.
func shortMPI(m MPI, pub any) bool {
	k, ok := pub.(*rsa.PublicKey)
	return ok && len(m.Bytes) < (k.N.BitLen()+7)/8
}

func keyIDBytes(id uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(id)
		id >>= 8
	}
	return b
}

// textLengthField reports whether the five bytes at off are printable ASCII: the shape of the
// `%-5s` length field, even when it does not parse.
func textLengthField(m formats.Module, off int64) bool {
	b, err := m.ReadAt(ID, off, 5)
	if err != nil {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// HashName names an OpenPGP hash id as module signatures report sig_hashalgo ("sha256"), or
// "openpgp-hash(N)" for an id HashByID does not know.
func HashName(id byte) string {
	if h, err := HashByID(id); err == nil {
		return formats.HashName(h)
	}
	return fmt.Sprintf("openpgp-hash(%d)", id)
}

// AlgoName names an OpenPGP public-key algorithm id as module signatures report it ("rsa",
// "dsa"), or "openpgp-algo(N)" for the others.
func AlgoName(a byte) string {
	switch a {
	case AlgoRSA, AlgoRSAEncrypt, AlgoRSASign:
		return "rsa"
	case AlgoDSA:
		return "dsa"
	}
	return fmt.Sprintf("openpgp-algo(%d)", a)
}
