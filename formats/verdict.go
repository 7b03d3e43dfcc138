package formats

import "fmt"

// Outcome is what a verification concluded, independent of any kernel's policy.
type Outcome string

// The outcomes, as DESIGN.md fixes them (stable JSON values).
const (
	OK           Outcome = "ok"            // valid signature by a key in the keyring
	Unsigned     Outcome = "unsigned"      // no signature of any known format
	UnknownKey   Outcome = "unknown-key"   // well-formed, but the signing key is not in the keyring
	BadSignature Outcome = "bad-signature" // the key is known and the signature does not match
	Corrupt      Outcome = "corrupt"       // the container or the signature cannot be parsed
	Unsupported  Outcome = "unsupported"   // parsed, but uses an algorithm or form the era cannot check
	Expired      Outcome = "expired"       // valid signature by an expired key (eras that checked expiry)
)

// Errno is what an era's kernel returns from init_module: "OK" or an errno name
// ("EKEYREJECTED", "ENOKEY", "EBADMSG", "ENOPKG", "EKEYEXPIRED", "ELIBBAD", "EPERM", "EINVAL",
// "ENOENT", "ENOTSUPP", "ENOEXEC").
type Errno string

// Result codes used across eras.
const (
	ErrnoOK           Errno = "OK"
	ErrnoEKEYREJECTED Errno = "EKEYREJECTED"
	ErrnoENOKEY       Errno = "ENOKEY"
	ErrnoEBADMSG      Errno = "EBADMSG"
	ErrnoENOPKG       Errno = "ENOPKG"
	ErrnoEKEYEXPIRED  Errno = "EKEYEXPIRED"
	ErrnoELIBBAD      Errno = "ELIBBAD"
	ErrnoEPERM        Errno = "EPERM"
	ErrnoEINVAL       Errno = "EINVAL"
	ErrnoENOENT       Errno = "ENOENT"
	ErrnoENOTSUPP     Errno = "ENOTSUPP"
)

// Number returns the Linux x86-64 errno value (what busybox insmod exits with), 0 for OK.
func (e Errno) Number() int {
	switch e {
	case ErrnoOK:
		return 0
	case ErrnoEPERM:
		return 1
	case ErrnoENOENT:
		return 2
	case ErrnoENOEXEC:
		return 8
	case ErrnoEINVAL:
		return 22
	case "ERANGE":
		return 34
	case ErrnoENOPKG:
		return 65
	case "EOPNOTSUPP":
		return 95
	case ErrnoEBADMSG:
		return 74
	case ErrnoELIBBAD:
		return 80
	case ErrnoENOKEY:
		return 126
	case ErrnoEKEYEXPIRED:
		return 127
	case ErrnoEKEYREJECTED:
		return 129
	case ErrnoENOTSUPP:
		return 524
	}
	return -1
}

// Verdict is the result of verifying one module: the outcome, what the era's kernel would
// return in permissive and in enforcing mode, the key that matched or was looked for, and a
// reason a person can act on. Its shape follows golang.org/x/mod/sumdb/note: every outcome
// carries the data needed to explain it.
type Verdict struct {
	Format     string  `json:"format"`
	Variant    string  `json:"variant,omitempty"`
	Outcome    Outcome `json:"outcome"`
	Permissive Errno   `json:"permissive"`
	Enforcing  Errno   `json:"enforcing"`
	Signer     string  `json:"signer"`
	KeyID      string  `json:"key_id"`
	Hash       string  `json:"hash"`
	Reason     string  `json:"reason"`
	// Kernel names the kernel model whose policy produced Permissive and Enforcing
	// ("linux-6.1", "linux-3.7", "rhel5", ...).
	Kernel string   `json:"kernel,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// Err is the parse or verification error behind Corrupt, BadSignature or Unsupported.
	Err error `json:"-"`
}

// String renders the verdict on one line.
func (v Verdict) String() string {
	return fmt.Sprintf("%s: %s (permissive %s, enforcing %s): %s", v.Format, v.Outcome, v.Permissive, v.Enforcing, v.Reason)
}

// Policy selects which kernel of a format's era the verdict models. Each driver documents
// the models it knows and its default (the empty string).
type Policy struct {
	Kernel string
}
