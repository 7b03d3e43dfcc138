package formats

import (
	"crypto"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kmodsig/kmodsig/keys"
)

// Driver is one signature format. Drivers register themselves with Register from an init
// function; conv imports every driver package.
//
// Readers never panic on malformed input: they return a *FormatError with the byte offset.
type Driver interface {
	// ID is the stable format id ("pkcs7").
	ID() string
	// Info describes the format for `kmodsig formats`.
	Info() Info
	// Detect reports, cheaply and from the bytes only, whether m carries this format's
	// signature as its outermost signature (see FORMATS.md "Detection"). It may accept a
	// damaged signature of its family so that Parse can report it as corrupt.
	Detect(m Module) bool
	// Parse locates the outermost signature and says what it claims.
	Parse(m Module) (*Signature, error)
	// Strip returns the module as it was before this signature was added.
	Strip(m Module) ([]byte, error)
	// Sign signs an unsigned module and returns the signed module.
	Sign(unsigned []byte, k *keys.Material, o SignOptions) ([]byte, error)
	// Verify checks the outermost signature against ring and models the era's kernel.
	Verify(m Module, ring *keys.Ring, p Policy) Verdict
}

// Info describes a format.
type Info struct {
	ID        string   `json:"id"`
	Era       string   `json:"era"`
	Container string   `json:"container"`
	KeyTypes  []string `json:"key_types"`
	Hashes    []string `json:"hashes"`
	Variants  []string `json:"variants,omitempty"`
	// Order is the detection order (FORMATS.md "Detection"): lower runs first.
	Order int `json:"-"`
}

// SignOptions are the knobs of Sign. The zero value asks for the era's defaults.
type SignOptions struct {
	Hash    crypto.Hash // 0: the format's default
	KeyID   bool        // pkcs7: identify the signer by SKID (CMS v3), like sign-file -k
	Variant string      // format variant ("detached", "rsa", "v2", ...); "" = default
	Time    time.Time   // signature creation time; zero = key material's fixed time; ErrUntimed where signatures carry none
	Force   bool        // sign even where the era's kernel could not verify (key type, weak hash)
	// Kernel is the kernel model (a Policy.Kernel name) whose verdict conv.Sign checks the
	// signed module against before it returns it; "" is the format's own era. Drivers ignore it.
	Kernel string
	// Deterministic makes the randomised signature schemes reproducible: ECDSA and DSA nonces
	// by RFC 6979 (see SignDigest and SignDSA). The command line and the vectors set it, so
	// that the same key, time and module always give the same bytes; `--randomize` clears it.
	// The zero value signs with random nonces, as the era's tools did.
	Deterministic bool
	// Warn, when set, receives warnings (for example a forced key type).
	Warn func(msg string)
	// Digests, when set, records the digests the driver computes over the module, for the
	// verification that follows (conv.Sign; see DigestMemo). Drivers may ignore it.
	Digests *DigestMemo
	// InPlace lets an appending driver build the signed module in the spare capacity of the
	// unsigned one, as append does, instead of copying it (SignOptions.AppendModSig): the
	// caller gives the unsigned slice up (conv's batch, which read the module with room for a
	// signature). Drivers may ignore it.
	InPlace bool
}

// Warnf sends a warning to o.Warn if set.
func (o SignOptions) Warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// Signature is what a signature claims, as found in the file; nothing here is verified.
// The modinfo-named fields carry modinfo's values where modinfo shows the format.
type Signature struct {
	Format  string `json:"format"`
	Variant string `json:"variant,omitempty"`
	Era     string `json:"era"`

	SigID     string `json:"sig_id"`       // modinfo's sig_id ("PKCS#7", "X509", "PGP"), or the format's own name
	Signer    string `json:"signer"`       // modinfo's signer
	KeyID     []byte `json:"-"`            // modinfo's sig_key bytes
	HashAlgo  string `json:"sig_hashalgo"` // modinfo's sig_hashalgo
	Value     []byte `json:"-"`            // modinfo's signature bytes
	PublicKey string `json:"public_key_algo,omitempty"`
	// Time is the signing time the signature records (OpenPGP signatures, digsig v1); zero
	// for the formats that record none.
	Time time.Time `json:"sig_time,omitzero"`

	// PayloadLen is the length of the signed prefix for appended formats (the module before
	// the signature); for section formats it is the size of the module without the section.
	PayloadLen int64 `json:"payload_len"`
	// Offset and Length locate the signature data (trailer included) in the file.
	Offset int64 `json:"sig_offset"`
	Length int64 `json:"sig_length"`

	// Signers lists every signer when a container holds more than one (CMS).
	Signers []SignerID `json:"signers,omitempty"`
	// Notes are quirks worth telling (nested signatures, era mismatches).
	Notes []string `json:"notes,omitempty"`
}

// SignerID identifies one signer of a multi-signer container.
type SignerID struct {
	Signer   string `json:"signer"`
	KeyID    string `json:"key_id"`
	HashAlgo string `json:"hash"`
}

var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
	ordered []Driver // drivers in detection order; rebuilt by Register
)

// Register makes a driver available by its ID. It panics on a duplicate id (a programming error).
func Register(d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := drivers[d.ID()]; dup {
		panic("formats: Register called twice for " + d.ID())
	}
	drivers[d.ID()] = d
	ordered = make([]Driver, 0, len(drivers))
	for _, d := range drivers {
		ordered = append(ordered, d)
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i].Info(), ordered[j].Info()
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.ID < b.ID
	})
}

// Lookup returns the driver for id.
func Lookup(id string) (Driver, error) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFormat, id)
	}
	return d, nil
}

// All returns the registered drivers in detection order.
func All() []Driver {
	mu.RLock()
	defer mu.RUnlock()
	return append([]Driver(nil), ordered...)
}

// Detect returns the driver of m's outermost signature, or nil when no driver claims it
// (format "none", unsigned).
func Detect(m Module) Driver {
	mu.RLock()
	ds := ordered
	mu.RUnlock()
	for _, d := range ds {
		if d.Detect(m) {
			return d
		}
	}
	return nil
}

// KeyExporter is implemented by drivers that can write the public key in the form their
// era's kernel needs to trust it (`kmodsig keys export --format ID`).
type KeyExporter interface {
	// ExportKey returns the bytes and a suggested file name (e.g. "modsign.pub").
	ExportKey(k *keys.Material, o SignOptions) (data []byte, name string, err error)
}
