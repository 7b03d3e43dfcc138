package digsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// ID is the format id of the 2012 modsig RFC trailer.
const ID = "digsig2012"

// trailerSize is the bytes after the signature part: be16 S and the 30-byte magic.
const trailerSize = 2 + int64(len(formats.Magic30))

func init() { formats.Register(Driver{}) }

var (
	_ formats.Driver      = Driver{}
	_ formats.KeyExporter = Driver{}
)

// Driver is the digsig2012 format: payload ‖ digsig signature (no IMA type byte) ‖ be16
// length of that signature ‖ "This Is A Crypto Signed Module". It implements
// formats.Driver and formats.KeyExporter.
type Driver struct{}

// ID returns "digsig2012".
func (Driver) ID() string { return ID }

// Info describes the format. Detection order 21: after gpg2012 (same magic).
func (Driver) Info() formats.Info {
	return formats.Info{
		ID:        ID,
		Era:       "Kasatkin/Zohar modsig RFC, Aug 2012 (never merged)",
		Container: `appended: digsig signature, be16 length, "This Is A Crypto Signed Module"`,
		KeyTypes:  []string{"rsa"},
		Hashes:    []string{"sha1", "sha256"},
		Variants:  []string{VariantV1, VariantV2},
		Order:     21,
	}
}

// Trailer is a located digsig2012 trailer.
type Trailer struct {
	// PayloadLen is the length of the signed payload: everything before the signature.
	PayloadLen int64
	// SigOff is the offset of the signature part, Size (the be16 S) its length.
	SigOff, Size int64
	// Raw is the signature part (a digsig v1 or v2 signature without the 03 byte).
	Raw []byte
}

// Locate finds the digsig2012 trailer of m without parsing the signature. A module that
// does not end with the magic, or whose length field has gpg2012's `%-5s` text shape, gives
// an error wrapping formats.ErrNotSigned; a length that does not fit gives a
// *formats.FormatError.
func Locate(m formats.Module) (*Trailer, error) {
	l := formats.ReadMagic30Length(m)
	if l == nil {
		return nil, &formats.FormatError{Path: m.Name, Format: ID, Off: -1, Msg: "no trailer magic at the end", Err: formats.ErrNotSigned}
	}
	if l.Off35 >= 0 && l.ASCIIOK {
		return nil, &formats.FormatError{Path: m.Name, Format: ID, Off: l.Off35,
			Msg: fmt.Sprintf("length field is gpg2012's text %d, not a be16", l.ASCII), Err: formats.ErrNotSigned}
	}
	s := l.BE16
	if s == 0 {
		return nil, formats.Errorf(m, ID, l.Off32, "signature length is 0")
	}
	if s > l.Off32 {
		return nil, formats.Errorf(m, ID, l.Off32, "signature length %d exceeds the %d bytes before the length field", s, l.Off32)
	}
	t := &Trailer{PayloadLen: l.Off32 - s, SigOff: l.Off32 - s, Size: s}
	raw, err := m.ReadAt(ID, t.SigOff, s)
	if err != nil {
		return nil, err
	}
	t.Raw = raw
	return t, nil
}

// structural reports whether raw has the shape of a digsig v1 or v2 signature (Detection
// step 2): v1 with the MPI filling it exactly, or v2 with sig_size matching.
func structural(raw []byte) bool {
	switch {
	case len(raw) >= MinV1Size && raw[0] == 1:
		bits := int(binary.BigEndian.Uint16(raw[16:18]))
		return MinV1Size+(bits+7)/8 == len(raw)
	case len(raw) >= HeaderV2Size && raw[0] == 2:
		return int(binary.BigEndian.Uint16(raw[6:8]))+HeaderV2Size == len(raw)
	}
	return false
}

// Detect claims a module ending with the magic when the field before it is a be16 length
// of a well-formed digsig v1/v2 signature. It never claims a gpg2012 trailer (five ASCII
// characters `%-5s`), and it also claims a damaged member of the family whose byte at -32
// cannot be text (below 0x20), so that Parse reports it as corrupt.
func (Driver) Detect(m formats.Module) bool {
	l := formats.ReadMagic30Length(m)
	if l == nil || (l.Off35 >= 0 && l.ASCIIOK) {
		return false
	}
	if l.BE16>>8 < 0x20 {
		return true
	}
	t, err := Locate(m)
	return err == nil && structural(t.Raw)
}

// parse locates and decodes the signature, with offsets relative to the module.
func parse(m formats.Module) (*Trailer, *Signature, error) {
	t, err := Locate(m)
	if err != nil {
		return nil, nil, err
	}
	s, err := Parse(t.Raw)
	if err != nil {
		var fe *formats.FormatError
		if errors.As(err, &fe) {
			return t, nil, &formats.FormatError{Path: m.Name, Format: ID, Off: t.SigOff + fe.Off, Msg: fe.Msg}
		}
		return t, nil, err
	}
	return t, s, nil
}

// Parse reports what the signature claims: variant v1/v2, the key id (sig_key), the
// header's hash, the signature value, and where it all lies.
func (Driver) Parse(m formats.Module) (*formats.Signature, error) {
	t, s, err := parse(m)
	if err != nil {
		return nil, err
	}
	sig := &formats.Signature{
		Format:     ID,
		Variant:    fmt.Sprintf("v%d", s.Version),
		Era:        Driver{}.Info().Era,
		SigID:      fmt.Sprintf("digsig v%d", s.Version),
		KeyID:      s.KeyID,
		HashAlgo:   s.HashName(),
		Value:      s.Value,
		PayloadLen: t.PayloadLen,
		Offset:     t.SigOff,
		Length:     t.Size + trailerSize,
	}
	switch s.Version {
	case 1:
		if s.Algo == AlgoRSA {
			sig.PublicKey = "rsa"
		}
		sig.Time = s.Timestamp()
		sig.Notes = append(sig.Notes,
			fmt.Sprintf("timestamp %s (read little-endian)", s.Timestamp().Format("2006-01-02T15:04:05Z")),
			fmt.Sprintf("the kernel looks up the user key %q", s.KeyDescription()))
	default:
		sig.Notes = append(sig.Notes, fmt.Sprintf("the kernel looks up the asymmetric key %q", s.KeyDescription()))
	}
	return sig, nil
}

// Strip returns the payload: the module as it was before the trailer was appended.
func (Driver) Strip(m formats.Module) ([]byte, error) {
	t, err := Locate(m)
	if err != nil {
		return nil, err
	}
	return m.ReadAt(ID, 0, t.PayloadLen)
}

// Sign appends a digsig2012 trailer to unsigned: variant v1 (default) or v2 as Sign
// describes. The 2012 kernel verified RSA only: an ECDSA key (v2 only) needs o.Force and
// is signed with a warning.
func (Driver) Sign(unsigned []byte, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	if k == nil || k.Signer == nil {
		return nil, fmt.Errorf("%w: digsig2012 signs with RSA keys", formats.ErrKeyType)
	}
	switch k.Signer.Public().(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if o.Variant != VariantV2 {
			return nil, fmt.Errorf("%w: digsig2012 v1 signs with RSA only", formats.ErrKeyType)
		}
		if !o.Force {
			return nil, fmt.Errorf("%w: the 2012 modsig kernel verified RSA only (use --force to write an ECDSA v2 signature)", formats.ErrKeyType)
		}
		o.Warnf("digsig2012: ECDSA v2 signature forced; the 2012 kernel could not verify it")
	default:
		return nil, fmt.Errorf("%w: digsig2012 signs with RSA keys, not %s", formats.ErrKeyType, keys.TypeName(k.Signer.Public()))
	}
	if formats.HasMagic30(formats.NewModule("", unsigned)) {
		o.Warnf("digsig2012: the input already ends with a MAGIC30 trailer; signing over it")
	}
	s, err := Sign(bytes.NewReader(unsigned), k, o)
	if err != nil {
		return nil, err
	}
	return AppendTrailer(unsigned, s.Marshal())
}

// AppendTrailer returns payload ‖ sig ‖ be16 len(sig) ‖ magic: what `cat module.sig >>
// module.ko` produced from evmctl --modsig's output.
func AppendTrailer(payload, sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig) > 0xffff {
		return nil, fmt.Errorf("%w: digsig2012 signature of %d bytes does not fit the be16 length", formats.ErrTooLarge, len(sig))
	}
	return formats.AppendMagic30(payload, sig, binary.BigEndian.AppendUint16(nil, uint16(len(sig)))), nil
}

// Verify checks the trailer against ring and models the RFC's kernel hook (Policy.Kernel
// "" or Kernel): see Signature.Verify for the outcomes and result codes; a module without
// the trailer is unsigned (OK when permissive, ENOKEY when enforcing); an unparseable one
// is corrupt (EINVAL; EBADMSG for a damaged v2 signature).
func (Driver) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	v := verify(m, ring)
	v.Format = ID
	if p.Kernel != "" && p.Kernel != Kernel {
		v.Notes = append(v.Notes, fmt.Sprintf("no kernel model %q for digsig2012; used %s", p.Kernel, Kernel))
	}
	return v
}

func verify(m formats.Module, ring *keys.Ring) formats.Verdict {
	if !formats.HasMagic30(m) {
		return formats.Verdict{Kernel: Kernel, Outcome: formats.Unsigned,
			Permissive: formats.ErrnoOK, Enforcing: formats.ErrnoENOKEY,
			Reason: "no digsig2012 trailer", Err: formats.ErrNotSigned}
	}
	t, s, err := parse(m)
	if err != nil {
		var version byte
		if t != nil && len(t.Raw) > 0 {
			version = t.Raw[0]
		}
		return CorruptVerdict(version, err)
	}
	d, err := formats.DigestAll(s.Hashes(), m.Reader(0, t.PayloadLen))
	if err != nil {
		v := CorruptVerdict(s.Version, err)
		v.Reason = fmt.Sprintf("reading the payload: %v", err)
		return v
	}
	return s.Verify(d, ring)
}

// ExportKey writes the public key as the RFC's kernel would trust it: for v1 (default) the
// digsig public-key blob that `evmctl import --rsa` loads as the user key named by the key
// id ("<DESCRIPTION>.digsig", e.g. `keyctl padd user AABF99498480E9 %:_module <
// AABF99498480E9.digsig`); for o.Variant "v2" the DER certificate ("x509_ima.der").
func (Driver) ExportKey(k *keys.Material, o formats.SignOptions) ([]byte, string, error) {
	if k == nil || k.Signer == nil {
		return nil, "", fmt.Errorf("%w: digsig keys are RSA (v1) or RSA/ECDSA (v2)", formats.ErrKeyType)
	}
	switch o.Variant {
	case "", VariantV1:
		pub, ok := k.Signer.Public().(*rsa.PublicKey)
		if !ok {
			return nil, "", fmt.Errorf("%w: the digsig v1 key blob holds RSA keys only", formats.ErrKeyType)
		}
		id := keys.DigsigKeyID(pub)
		return keys.DigsigBlob(pub), V1Description(id[:]) + ".digsig", nil
	case VariantV2:
		c, err := k.Certificate()
		if err != nil {
			return nil, "", err
		}
		return append([]byte(nil), c.Raw...), "x509_ima.der", nil
	}
	return nil, "", fmt.Errorf("digsig2012: %w %q (want v1 or v2)", formats.ErrVariant, o.Variant)
}
