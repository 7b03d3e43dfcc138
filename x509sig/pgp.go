package x509sig

import (
	"fmt"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// PGPID is the format id of the id_type 0 trailer.
const PGPID = "pgp-trailer"

// ErrReadOnly reports a format kmodsig reads but never writes.
var ErrReadOnly = formats.ErrReadOnly

// PGPDriver reads the `module_signature` trailer with id_type 0 ("PGP"): never a mainline
// format, but kmod and extract-module-sig.pl name it and out-of-tree PGP patches put an
// OpenPGP signature in this frame (source not publicly pinned). It parses what modinfo shows
// and verifies nothing: Verify says Unsupported with the errno each kernel model gives (3.7:
// ENOPKG; 4.3: ENOPKG; 6.1: permissive Ok with taint, enforcing EKEYREJECTED).
type PGPDriver struct{}

var _ formats.Driver = PGPDriver{}

// ID returns "pgp-trailer".
func (PGPDriver) ID() string { return PGPID }

// Info describes the format.
func (PGPDriver) Info() formats.Info {
	return formats.Info{
		ID:        PGPID,
		Era:       "out-of-tree (never mainline)",
		Container: "appended module_signature (id_type 0) + marker",
		KeyTypes:  []string{},
		Hashes:    []string{},
		Order:     12,
	}
}

// Detect reports whether m ends with the marker and an id_type 0 block.
func (PGPDriver) Detect(m formats.Module) bool {
	if !formats.HasMarker(m) {
		return false
	}
	t := m.Tail(formats.ModSigBlockSize + int64(len(formats.Marker)))
	return t != nil && t[2] == formats.IDTypePGP
}

// Parse reports modinfo's fields: sig_id "PGP", signer, sig_key = key_id, sig_hashalgo from
// kmod's table, signature = the last sig_len bytes.
func (PGPDriver) Parse(m formats.Module) (*formats.Signature, error) {
	l, err := locate(m, PGPID, formats.IDTypePGP)
	if err != nil {
		return nil, err
	}
	s, err := readSignature(m, l, PGPID)
	if err != nil {
		return nil, err
	}
	s.SigID = "PGP"
	s.Era = "out-of-tree (never mainline)"
	return s, nil
}

// Strip returns the module before signer, key_id and signature.
func (PGPDriver) Strip(m formats.Module) ([]byte, error) {
	l, err := locate(m, PGPID, formats.IDTypePGP)
	if err != nil {
		return nil, err
	}
	return m.ReadAt(PGPID, 0, l.payloadLen)
}

// Sign refuses: kmodsig never writes this frame.
func (PGPDriver) Sign([]byte, *keys.Material, formats.SignOptions) ([]byte, error) {
	return nil, fmt.Errorf("%s: %w: never a mainline format", PGPID, ErrReadOnly)
}

// Verify reports Unsupported ("never a mainline format") with each kernel model's errno (see
// Driver.Verify for the models), or Corrupt when the lengths do not fit.
func (PGPDriver) Verify(m formats.Module, ring *keys.Ring, p formats.Policy) formats.Verdict {
	v := verify(m, ring, p, PGPID)
	if s, err := (PGPDriver{}).Parse(m); err == nil {
		v.Signer, v.KeyID, v.Hash = s.Signer, fmt.Sprintf("%x", s.KeyID), s.HashAlgo
	}
	return v
}
