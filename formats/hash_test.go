package formats

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha512"
	"errors"
	"testing"
)

// TestCopyStream: CopyStream copies every byte, at and around its buffer's size.
func TestCopyStream(t *testing.T) {
	for _, n := range []int{0, 1, 128<<10 - 1, 128 << 10, 128<<10 + 1, 1 << 20} {
		src := make([]byte, n)
		rand.Read(src)
		var dst bytes.Buffer
		got, err := CopyStream(&dst, bytes.NewReader(src))
		if err != nil || got != int64(n) || !bytes.Equal(dst.Bytes(), src) {
			t.Errorf("%d bytes: copied %d, err %v, equal %v", n, got, err, bytes.Equal(dst.Bytes(), src))
		}
	}
}

// TestDigestAll: one read gives each hash's digest of the whole input, at and around
// CopyStream's buffer size; no hashes is an empty map; an unavailable hash is ErrHash.
func TestDigestAll(t *testing.T) {
	for _, n := range []int{0, 1, 128 << 10, 128<<10 + 1} {
		src := make([]byte, n)
		rand.Read(src)
		got, err := DigestAll([]crypto.Hash{crypto.SHA1, crypto.SHA384}, bytes.NewReader(src))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		s1, s384 := sha1.Sum(src), sha512.Sum384(src)
		if len(got) != 2 || !bytes.Equal(got[crypto.SHA1], s1[:]) || !bytes.Equal(got[crypto.SHA384], s384[:]) {
			t.Errorf("%d bytes: digests %x, want SHA-1 %x and SHA-384 %x", n, got, s1, s384)
		}
	}
	if got, err := DigestAll(nil, bytes.NewReader([]byte("x"))); err != nil || len(got) != 0 {
		t.Errorf("no hashes: %v, %v", got, err)
	}
	if _, err := DigestAll([]crypto.Hash{crypto.SHA256, crypto.MD4}, bytes.NewReader(nil)); !errors.Is(err, ErrHash) {
		t.Errorf("MD4 (not linked in): %v, want ErrHash", err)
	}
}
