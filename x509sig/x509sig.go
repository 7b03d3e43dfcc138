package x509sig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// ID is the format id of the 3.7–4.2 trailer.
const ID = "x509"

// VariantRC1 is the pre-release 3.7-rc1 layout (marker before the signature), read only.
const VariantRC1 = "rc1"

// ErrnoERANGE is what the 3.7–4.2 RSA code returns when a signature value decodes to a block
// that does not start 00 01 (a corrupted signature value): RSA_I2OSP's -ERANGE, 34 on x86-64.
const ErrnoERANGE formats.Errno = "ERANGE"

// The algo values of struct module_signature.
const (
	AlgoDSA = 0
	AlgoRSA = 1
)

// DefaultHash is the hash Sign uses when SignOptions.Hash is zero: SHA-256, what the
// distributions chose (the Kconfig choice's first entry was SHA-1).
const DefaultHash = crypto.SHA256

// kernelHashes maps the kernel's hash_algo numbers (3.7 pkey_hash_algo) to Go hashes.
// 0 (md4) has a kernel name but no Go implementation and no RSA template.
var kernelHashes = map[uint8]crypto.Hash{
	1: crypto.MD5,
	2: crypto.SHA1,
	3: crypto.RIPEMD160,
	4: crypto.SHA256,
	5: crypto.SHA384,
	6: crypto.SHA512,
	7: crypto.SHA224,
}

// kernelHashLast is PKEY_HASH__LAST of 3.7: hash values at or above it are ENOPKG.
const kernelHashLast = 8

// kmodHashNames is kmod's private table (libkmod-signature.c): what modinfo prints as
// sig_hashalgo. kmod refuses a block with hash >= 9.
var kmodHashNames = []string{"md4", "md5", "sha1", "rmd160", "sha256", "sha384", "sha512", "sha224", "sm3"}

// HashAlgoName returns modinfo's sig_hashalgo for the block's hash byte, or "unknown(N)"
// beyond kmod's table (modinfo prints no signature lines then).
func HashAlgoName(b uint8) string {
	if int(b) < len(kmodHashNames) {
		return kmodHashNames[b]
	}
	return fmt.Sprintf("unknown(%d)", b)
}

// HashByte returns the kernel hash_algo number of h, or an error wrapping formats.ErrHash.
func HashByte(h crypto.Hash) (uint8, error) {
	for b, kh := range kernelHashes {
		if kh == h {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%w: %s has no kernel hash_algo number", formats.ErrHash, formats.HashName(h))
}

// algoName is kmod's pkey_algo table.
func algoName(a uint8) string {
	switch a {
	case AlgoDSA:
		return "DSA"
	case AlgoRSA:
		return "RSA"
	}
	return fmt.Sprintf("unknown(%d)", a)
}

// Driver is the `x509` format driver. The zero value is ready to use; it is registered with
// formats.Register as "x509".
type Driver struct{}

var (
	_ formats.Driver      = Driver{}
	_ formats.KeyExporter = Driver{}
)

func init() {
	formats.Register(Driver{})
	formats.Register(PGPDriver{})
}

// ID returns "x509".
func (Driver) ID() string { return ID }

// Info describes the format.
func (Driver) Info() formats.Info {
	return formats.Info{
		ID:        ID,
		Era:       "Linux 3.7 - 4.2",
		Container: "appended module_signature (id_type 1) + marker",
		KeyTypes:  []string{"rsa"},
		Hashes:    []string{"sha1", "sha224", "sha256", "sha384", "sha512"},
		Variants:  []string{VariantRC1},
		Order:     11,
	}
}

// Detect reports whether m ends with the marker and an id_type 1 block (damaged or not), or
// carries the rc1 pre-release layout.
func (Driver) Detect(m formats.Module) bool {
	if formats.HasMarker(m) {
		t := m.Tail(formats.ModSigBlockSize + int64(len(formats.Marker)))
		return t != nil && t[2] == formats.IDTypeX509
	}
	_, ok := findRC1(m)
	return ok
}

// layout is where the parts of an x509 signature lie, for either variant.
type layout struct {
	variant    string
	block      formats.ModSig
	blockOff   int64
	markerOff  int64 // offset of the marker
	signerOff  int64
	keyIDOff   int64
	sigOff     int64
	payloadLen int64
}

// locate finds the outermost x509 signature of m and checks that its lengths fit.
func locate(m formats.Module, format string, idType uint8) (*layout, error) {
	if formats.HasMarker(m) {
		t, err := formats.ParseModSig(m, format)
		if err != nil {
			return nil, err
		}
		if t.Block.IDType != idType {
			return nil, &formats.FormatError{Path: m.Name, Format: format, Off: t.BlockOff + 2,
				Msg: fmt.Sprintf("id_type %d is not %d", t.Block.IDType, idType), Err: formats.ErrNotSigned}
		}
		return &layout{block: t.Block, blockOff: t.BlockOff, markerOff: m.Size - int64(len(formats.Marker)),
			signerOff: t.SignerOff, keyIDOff: t.KeyIDOff, sigOff: t.SigOff, payloadLen: t.PayloadLen}, nil
	}
	if idType == formats.IDTypeX509 {
		if l, ok := findRC1(m); ok {
			return l, nil
		}
	}
	return nil, &formats.FormatError{Path: m.Name, Format: format, Off: -1, Msg: "no module signature marker at end of file", Err: formats.ErrNotSigned}
}

// checkMPI checks the byte-count MPI the kernel's mod_extract_mpi_array reads: at least 3
// bytes and be16 == len − 2.
func checkMPI(m formats.Module, sig []byte, off int64) error {
	if len(sig) < 3 {
		return formats.Errorf(m, ID, off, "signature part of %d bytes is too short for a be16 length and an RSA value", len(sig))
	}
	if k := int(binary.BigEndian.Uint16(sig)); k != len(sig)-2 {
		return formats.Errorf(m, ID, off, "byte-count MPI says %d bytes but sig_len leaves %d (sig_len − 2 must equal the be16 prefix)", k, len(sig)-2)
	}
	return nil
}

// Parse reports what the signature claims, as modinfo shows it: sig_id "X509", the signer,
// sig_key = key_id, sig_hashalgo from kmod's table and the signature INCLUDING its be16 prefix
// (Value). Lengths that do not fit the file give a *formats.FormatError and no Signature.
// When only the signature part is malformed (zero signer or key_id length, sig_len − 2 !=
// be16), Parse returns the Signature it read (what modinfo still prints) together with a
// *formats.FormatError.
func (Driver) Parse(m formats.Module) (*formats.Signature, error) {
	l, err := locate(m, ID, formats.IDTypeX509)
	if err != nil {
		return nil, err
	}
	s, err := readSignature(m, l, ID)
	if err != nil {
		return nil, err
	}
	s.SigID = "X509"
	var bad error
	switch {
	case l.block.SignerLen == 0:
		bad = formats.Errorf(m, ID, l.blockOff+3, "signer_len is 0: the kernel could never find the key")
	case l.block.KeyIDLen == 0:
		bad = formats.Errorf(m, ID, l.blockOff+4, "key_id_len is 0: the kernel could never find the key")
	default:
		if err := checkMPI(m, s.Value, l.sigOff); err != nil {
			bad = err
		}
	}
	return s, bad
}

// readSignature fills the fields common to id_type 0 and 1.
func readSignature(m formats.Module, l *layout, format string) (*formats.Signature, error) {
	ids, err := m.ReadAt(format, l.signerOff, l.sigOff-l.signerOff)
	if err != nil {
		return nil, err
	}
	sig, err := m.ReadAt(format, l.sigOff, int64(l.block.SigLen))
	if err != nil {
		return nil, err
	}
	s := &formats.Signature{
		Format:     format,
		Variant:    l.variant,
		Era:        "Linux 3.7 - 4.2",
		Signer:     string(ids[:l.block.SignerLen]),
		KeyID:      ids[l.block.SignerLen:],
		HashAlgo:   HashAlgoName(l.block.Hash),
		Value:      sig,
		PublicKey:  algoName(l.block.Algo),
		PayloadLen: l.payloadLen,
		Offset:     l.signerOff,
		Length:     m.Size - l.signerOff,
	}
	if l.variant == VariantRC1 {
		s.Offset = l.markerOff
		s.Length = m.Size - l.markerOff
		s.Notes = append(s.Notes, "pre-release 3.7-rc1 layout (marker before the signature); released kernels see the module as unsigned")
	}
	if l.payloadLen >= int64(len(formats.Marker)) {
		if t, err := m.ReadAt(format, l.payloadLen-int64(len(formats.Marker)), int64(len(formats.Marker))); err == nil && string(t) == formats.Marker {
			s.Notes = append(s.Notes, "the payload itself ends with a signature marker: nested signature inside")
		}
	}
	return s, nil
}

// Strip returns the payload: the module before signer, key_id and everything after (for rc1,
// everything before the marker).
func (Driver) Strip(m formats.Module) ([]byte, error) {
	l, err := locate(m, ID, formats.IDTypeX509)
	if err != nil {
		return nil, err
	}
	return m.ReadAt(ID, 0, l.payloadLen)
}

// Sign appends an x509 trailer to unsigned: signer = keys.SignerName of k's certificate
// (k.Certificate(), derived when none was given), key_id = its subjectKeyIdentifier, and an
// RSASSA-PKCS1-v1_5 signature over H(unsigned) with o.Hash (default SHA-256; sha1, sha224,
// sha256, sha384, sha512 like the perl sign-file; md5 and rmd160, which 3.7 could verify but no
// signer tool produced, only with o.Force and a warning). Non-RSA keys are refused with
// formats.ErrKeyType even with Force, a certificate without SKID with keys.ErrNoSKID, and a
// certificate that does not carry k's key with formats.ErrKeyMismatch. RSA PKCS#1 v1.5 is
// deterministic, so Sign(Strip(x)) == x for a module Sign made. The rc1 variant is never
// written (ErrReadOnly), and o.Time is refused with formats.ErrUntimed (the trailer has no
// time field).
func (Driver) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	if k == nil || k.Signer == nil {
		return nil, fmt.Errorf("x509: %w: the 3.7-4.2 format carries only RSA signatures (no signing key)", formats.ErrKeyType)
	}
	switch o.Variant {
	case "":
	case VariantRC1:
		return nil, fmt.Errorf("x509: variant rc1 (the 3.7-rc1 layout): %w", ErrReadOnly)
	default:
		return nil, fmt.Errorf("x509: %w %q", formats.ErrVariant, o.Variant)
	}
	if !o.Time.IsZero() {
		return nil, fmt.Errorf("x509: %w (the module_signature trailer has no time field)", formats.ErrUntimed)
	}
	pub, ok := k.Signer.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("x509: %w: the 3.7-4.2 format carries only raw RSA PKCS#1 signatures, not %s", formats.ErrKeyType, keys.TypeName(k.Signer.Public()))
	}
	h := o.Hash
	if h == 0 {
		h = DefaultHash
	}
	hb, err := HashByte(h)
	if err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	switch h {
	case crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		if !o.Force {
			return nil, fmt.Errorf("x509: %w: %s is verifiable by 3.7 but no signer tool of the era produced it (use --force)", formats.ErrHash, formats.HashName(h))
		}
		o.Warnf("x509: signing with %s, which no 3.7-era signer tool produced", formats.HashName(h))
	}
	cert, err := k.Certificate()
	if err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	if !keys.SamePublic(cert.PublicKey, pub) {
		return nil, fmt.Errorf("x509: %w", formats.ErrKeyMismatch)
	}
	if len(cert.SubjectKeyId) == 0 {
		return nil, fmt.Errorf("x509: certificate %q: %w (the kernel finds the key by signer name and SKID)", keys.SignerName(cert), keys.ErrNoSKID)
	}
	signer := []byte(keys.SignerName(cert))
	if len(signer) > 255 || len(cert.SubjectKeyId) > 255 {
		return nil, fmt.Errorf("x509: signer name (%d bytes) or SKID (%d bytes) longer than the 255 bytes the block can say", len(signer), len(cert.SubjectKeyId))
	}
	if bytes.HasSuffix(unsigned, []byte(formats.Marker)) {
		o.Warnf("x509: the module already ends with a signature marker: the new signature wraps the old one")
	}
	digest := o.Digests.Sum(h, unsigned) // hashes, and remembers for the self-check (conv.Sign)
	// libcrypto in the openssl build; RIPEMD-160 under the kernel template's TeleTrusT OID
	raw, err := formats.SignDigest(k.Signer, digest, h, o)
	if err != nil {
		return nil, fmt.Errorf("x509: signing: %w", err)
	}
	n := (pub.N.BitLen() + 7) / 8
	if len(raw) > n {
		return nil, fmt.Errorf("x509: signer returned %d bytes for a %d-byte modulus", len(raw), n)
	}
	sig := make([]byte, 2+n)
	binary.BigEndian.PutUint16(sig, uint16(n))
	copy(sig[2+n-len(raw):], raw) // keep leading zeros: k bytes exactly
	out, err := o.AppendModSig(unsigned, signer, cert.SubjectKeyId, sig,
		formats.ModSig{Algo: AlgoRSA, Hash: hb, IDType: formats.IDTypeX509})
	if err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	return out, nil
}

// ExportKey returns the DER certificate a 3.7–4.2 kernel needs to trust k (the kernel build's
// signing_key.x509). The certificate must carry an SKID.
func (Driver) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	if k == nil {
		return nil, "", errors.New("x509: no key material")
	}
	if o.Variant != "" && o.Variant != VariantRC1 {
		return nil, "", fmt.Errorf("x509: %w %q", formats.ErrVariant, o.Variant)
	}
	if _, ok := k.Public().(*rsa.PublicKey); !ok {
		return nil, "", fmt.Errorf("x509: %w: 3.7-4.2 kernels load only RSA certificates", formats.ErrKeyType)
	}
	cert, err := k.Certificate()
	if err != nil {
		return nil, "", fmt.Errorf("x509: %w", err)
	}
	if len(cert.SubjectKeyId) == 0 {
		return nil, "", fmt.Errorf("x509: %w", keys.ErrNoSKID)
	}
	return append([]byte(nil), cert.Raw...), "signing_key.x509", nil
}
