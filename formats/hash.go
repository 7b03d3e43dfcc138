package formats

import (
	"crypto"
	_ "crypto/md5"    // registered for eras that accepted MD5
	_ "crypto/sha1"   // registered for SHA-1 eras
	_ "crypto/sha256" // registered
	_ "crypto/sha3"   // registered for SHA3 (pkcs7 on 6.7+)
	_ "crypto/sha512" // registered
	"fmt"
	"io"
	"strings"

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

// Digest hashes n bytes of r with h.
func Digest(h crypto.Hash, r io.Reader) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("%w: %s not available", ErrHash, HashName(h))
	}
	w := h.New()
	if _, err := io.Copy(w, r); err != nil {
		return nil, err
	}
	return w.Sum(nil), nil
}
