package formats

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotSigned reports that a module carries no signature of the format asked for.
	ErrNotSigned = errors.New("module is not signed")
	// ErrUnknownFormat reports a format id that no driver registered.
	ErrUnknownFormat = errors.New("unknown signature format")
	// ErrKeyType reports key material the format's era cannot verify (for example RSA for rhel5).
	ErrKeyType = errors.New("key type not supported by this format")
	// ErrHash reports a digest algorithm the format cannot carry or the era did not accept.
	ErrHash = errors.New("hash algorithm not supported by this format")
	// ErrKeyMismatch reports a private key that does not match the certificate given with it.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
	// ErrUnknownKernel reports a kernel model name (Policy.Kernel) that no driver models.
	ErrUnknownKernel = errors.New("unknown kernel model")
	// ErrVariant reports a variant name (SignOptions.Variant) the format does not have.
	ErrVariant = errors.New("unknown variant")
	// ErrUntimed reports a signature time (SignOptions.Time) given to a format, or a variant,
	// whose signatures carry none: it would be silently left out.
	ErrUntimed = errors.New("signatures carry no time")
	// ErrReadOnly reports a format kmodsig reads but never writes (pgp-trailer, x509 rc1).
	ErrReadOnly = errors.New("format is read only")
	// ErrTooLarge reports a length field or input above the documented limits.
	ErrTooLarge = errors.New("length exceeds limit")
	// ErrSignFault reports a signature that failed the check its signer makes before
	// returning it (SignDSA): a fault in the computation, whose output must not be used.
	ErrSignFault = errors.New("signature failed its signer's check")
	// ErrNotRegular reports a path that is not a regular file (a directory, a FIFO, a device)
	// where a module or a file to sign is expected.
	ErrNotRegular = errors.New("not a regular file")
)

// FormatError reports malformed input: which file, which format, the byte offset of the
// problem and what is wrong, in the style of debug/elf's FormatError. Off is an offset into
// the decompressed module, or -1 when no offset applies.
type FormatError struct {
	Path   string // file name, may be empty for in-memory input
	Format string // format id, e.g. "pkcs7", or "elf"
	Off    int64
	Msg    string
	Err    error // optional underlying cause (a sentinel or a codec error)
}

func (e *FormatError) Error() string {
	s := ""
	if e.Path != "" {
		s = e.Path + ": "
	}
	if e.Format != "" {
		s += e.Format + ": "
	}
	if e.Off >= 0 {
		s += fmt.Sprintf("offset %d (0x%x): ", e.Off, e.Off)
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// Errorf returns a *FormatError for module m (its Name becomes Path).
func Errorf(m Module, format string, off int64, msg string, args ...any) *FormatError {
	return &FormatError{Path: m.Name, Format: format, Off: off, Msg: fmt.Sprintf(msg, args...)}
}

// Limits: every length read from a file is checked against what remains and against these.
const (
	// MaxModuleSize is the largest (decompressed) module kmodsig reads: 1 GiB. The largest
	// Debian 6.1 module is 19.5 MB.
	MaxModuleSize = 1 << 30
	// MaxSignatureSize is the largest signature blob any driver accepts: 1 MiB. Real CMS
	// blobs are under 2 KiB; a CMS with embedded certificates stays far below this.
	MaxSignatureSize = 1 << 20
)
