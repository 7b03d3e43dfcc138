package digsig

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// SigFileSuffix is appended to a file's name for its signature sidecar, as `evmctl
// ima_sign --sigfile` writes it.
const SigFileSuffix = ".sig"

// MaxXattrSize bounds the security.ima values and .sig files kmodsig reads: a digsig
// signature is at most 8 + 65535 bytes after the type byte.
const MaxXattrSize = 1 + HeaderV2Size + 0xffff

// ImaXattr returns the security.ima value of a signature: 03 (EVM_IMA_XATTR_DIGSIG) ‖ sig,
// where sig is a marshalled digsig signature (Signature.Marshal).
func ImaXattr(sig []byte) []byte {
	return append([]byte{XattrDigsig}, sig...)
}

// ParseImaXattr decodes a security.ima value (or the contents of a .sig sidecar): the
// type byte must be 03; the rest is a digsig signature. Errors are *formats.FormatError
// with Format "ima" and offsets into v.
func ParseImaXattr(v []byte) (*Signature, error) {
	if len(v) == 0 {
		return nil, &formats.FormatError{Format: "ima", Off: 0, Msg: "empty security.ima value"}
	}
	if v[0] != XattrDigsig {
		return nil, &formats.FormatError{Format: "ima", Off: 0, Msg: fmt.Sprintf("security.ima type %d (%s) is not a digital signature (3)", v[0], xattrTypeName(v[0]))}
	}
	s, err := Parse(v[1:])
	if err != nil {
		if fe, ok := err.(*formats.FormatError); ok {
			return nil, &formats.FormatError{Format: "ima", Off: fe.Off + 1, Msg: fe.Msg}
		}
		return nil, err
	}
	return s, nil
}

func xattrTypeName(t byte) string {
	switch t {
	case 1:
		return "digest"
	case 2:
		return "HMAC"
	case 3:
		return "digsig"
	case 4:
		return "digest-ng"
	case 5:
		return "portable digsig"
	case 6:
		return "verity digsig"
	}
	return "unknown"
}

// SignIMA signs content as `evmctl ima_sign` does and returns the security.ima value
// (03 ‖ signature): variant o.Variant ("" or "v1": `evmctl ima_sign --rsa`, default hash
// SHA-1 as with -a sha1; "v2": default SHA-256, RSA or ECDSA), v1 timestamp o.Time or
// k.CreationTime().
func SignIMA(content io.Reader, k *keys.Material, o formats.SignOptions) ([]byte, error) {
	s, err := Sign(content, k, o)
	if err != nil {
		return nil, err
	}
	return ImaXattr(s.Marshal()), nil
}

// VerifyIMA checks a security.ima value (or .sig contents) against content and ring; see
// Signature.Verify for the outcomes. Format is "ima". A value that is not 03 ‖ signature is
// corrupt.
func VerifyIMA(content io.Reader, xattr []byte, ring *keys.Ring) formats.Verdict {
	s, err := ParseImaXattr(xattr)
	if err != nil {
		var version byte
		if len(xattr) > 1 {
			version = xattr[1]
		}
		v := CorruptVerdict(version, err)
		v.Format = "ima"
		return v
	}
	d, err := formats.DigestAll(s.Hashes(), content)
	if err != nil {
		v := CorruptVerdict(s.Version, err)
		v.Format, v.Reason = "ima", fmt.Sprintf("reading the file: %v", err)
		return v
	}
	v := s.Verify(d, ring)
	v.Format = "ima"
	return v
}

// SigFilePath returns the sidecar path of path: path + ".sig".
func SigFilePath(path string) string { return path + SigFileSuffix }

// SignFile signs the file at path and writes its sidecar path + ".sig" holding the
// security.ima value, like `evmctl ima_sign --sigfile` (without setting the xattr). It
// returns the sidecar's path.
func SignFile(path string, k *keys.Material, o formats.SignOptions) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	v, err := SignIMA(f, k, o)
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", path, err)
	}
	out := SigFilePath(path)
	if err := WriteSigFile(out, v); err != nil {
		return "", err
	}
	return out, nil
}

// openRegular opens path for reading and refuses what is not a regular file
// (formats.ErrNotRegular): IMA appraises regular files only, and hashing a FIFO or a device
// would wait for a writer or never end. The open does not block on a FIFO (O_NONBLOCK).
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, formats.ErrNotRegular)
	}
	return f, nil
}

// WriteSigFile writes a security.ima value to a sidecar file atomically (temporary file,
// fsync, rename).
func WriteSigFile(sigPath string, xattr []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(sigPath), ".kmodsig-sig-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(xattr); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), sigPath)
}

// ReadSigFile reads a sidecar, refusing files above MaxXattrSize.
func ReadSigFile(sigPath string) ([]byte, error) {
	f, err := openRegular(sigPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxXattrSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxXattrSize {
		return nil, &formats.FormatError{Path: sigPath, Format: "ima", Off: MaxXattrSize,
			Msg: fmt.Sprintf("signature file larger than %d bytes", MaxXattrSize), Err: formats.ErrTooLarge}
	}
	return b, nil
}

// VerifySigFile verifies the file at path against its sidecar path + ".sig", like `evmctl
// ima_verify --sigfile`. The error is for unreadable files only; everything about the
// signature is in the verdict.
func VerifySigFile(path string, ring *keys.Ring) (formats.Verdict, error) {
	x, err := ReadSigFile(SigFilePath(path))
	if err != nil {
		return formats.Verdict{}, err
	}
	f, err := openRegular(path)
	if err != nil {
		return formats.Verdict{}, err
	}
	defer f.Close()
	v := VerifyIMA(f, x, ring)
	if fe, ok := v.Err.(*formats.FormatError); ok && fe.Path == "" {
		fe.Path = SigFilePath(path)
	}
	return v, nil
}
