package formats

import (
	"crypto"
	_ "crypto/md5"    // registered for eras that accepted MD5
	_ "crypto/sha1"   // registered for SHA-1 eras
	_ "crypto/sha256" // registered
	_ "crypto/sha3"   // registered for SHA3 (pkcs7 on 6.7+)
	_ "crypto/sha512" // registered
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"

	//lint:ignore SA1019 the OpenPGP eras (2004-2012) accepted RIPEMD-160 signatures
	_ "golang.org/x/crypto/ripemd160" // registered for RIPEMD-160 (OpenPGP eras)
)

var hashNames = []struct {
	h    crypto.Hash
	name string
}{
	{crypto.MD5, "md5"},
	{crypto.SHA1, "sha1"},
	{crypto.RIPEMD160, "rmd160"},
	{crypto.SHA224, "sha224"},
	{crypto.SHA256, "sha256"},
	{crypto.SHA384, "sha384"},
	{crypto.SHA512, "sha512"},
	{crypto.SHA3_256, "sha3-256"},
	{crypto.SHA3_384, "sha3-384"},
	{crypto.SHA3_512, "sha3-512"},
}

// HashName returns the kernel's name of h ("sha256", "sha3-256", "rmd160"), as modinfo prints it.
func HashName(h crypto.Hash) string {
	for _, n := range hashNames {
		if n.h == h {
			return n.name
		}
	}
	return fmt.Sprintf("hash(%d)", int(h))
}

// HashNames lists the hash names kmodsig knows, as ParseHash takes them.
func HashNames() []string {
	names := make([]string, len(hashNames))
	for i, n := range hashNames {
		names[i] = n.name
	}
	return names
}

// ParseHash parses a hash name as sign-file and modinfo spell it ("sha256", "SHA-256",
// "sha3-256", "rmd160", "ripemd160").
func ParseHash(s string) (crypto.Hash, error) {
	t := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	t = strings.ReplaceAll(t, "_", "")
	if t == "ripemd160" {
		t = "rmd160"
	}
	for _, n := range hashNames {
		if strings.ReplaceAll(n.name, "-", "") == t {
			return n.h, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrHash, s)
}

// NewHash returns a new h hash: libcrypto's in the `openssl` build for the hashes it computes
// faster than Go (SHA-384, SHA-512: hashBackend), else crypto's. Like h.New, it panics when h
// is not available.
func NewHash(h crypto.Hash) hash.Hash {
	if hashBackend != nil {
		if w := hashBackend(h); w != nil {
			return w
		}
	}
	return h.New()
}

// hashBackend, when set (the `openssl` build tag), supplies the hashes libcrypto computes
// faster than Go; it returns nil for the others.
var hashBackend func(h crypto.Hash) hash.Hash

// Digest hashes n bytes of r with h.
func Digest(h crypto.Hash, r io.Reader) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("%w: %s not available", ErrHash, HashName(h))
	}
	w := NewHash(h)
	if _, err := CopyStream(w, r); err != nil {
		return nil, err
	}
	return w.Sum(nil), nil
}

// DigestAll reads r once and returns its digest under every hash in hs.
func DigestAll(hs []crypto.Hash, r io.Reader) (map[crypto.Hash][]byte, error) {
	ws := make([]hash.Hash, len(hs))
	mw := make([]io.Writer, len(hs))
	for i, h := range hs {
		if !h.Available() {
			return nil, fmt.Errorf("%w: %s not available", ErrHash, HashName(h))
		}
		ws[i] = NewHash(h)
		mw[i] = ws[i]
	}
	if _, err := CopyStream(io.MultiWriter(mw...), r); err != nil {
		return nil, err
	}
	out := make(map[crypto.Hash][]byte, len(hs))
	for i, h := range hs {
		out[h] = ws[i].Sum(nil)
	}
	return out, nil
}

// digestInfo holds the DER DigestInfo prefixes of RFC 8017 §9.2 note 1 (FORMATS.md shared
// constants), RIPEMD-160 under the TeleTrusT OID 1.3.36.3.2.1 that the kernels and OpenPGP use.
var digestInfo = map[crypto.Hash][]byte{
	crypto.MD5:       {0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10},
	crypto.SHA1:      {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.RIPEMD160: {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x24, 0x03, 0x02, 0x01, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224:    {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256:    {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384:    {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512:    {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// DigestInfo returns a copy of the DER DigestInfo prefix that precedes an h digest in an
// RSASSA-PKCS1-v1_5 block, and whether h has one (MD5, SHA-1, RIPEMD-160, SHA-2).
func DigestInfo(h crypto.Hash) ([]byte, bool) {
	p, ok := digestInfo[h]
	return append([]byte(nil), p...), ok
}

// copyBufs are the buffers of CopyStream.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// CopyStream copies r to w (a hash, typically) through a pooled 128 KiB buffer. io.Copy
// allocates 32 KiB per call: verifying the 4023 modules of the Debian set made 126 MB of such
// garbage, most of what it allocated and the cause of most of its collections; and a larger
// buffer reads an average module in one system call instead of three or four.
func CopyStream(w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(w, r, *bp)
}
