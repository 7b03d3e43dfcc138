package x509sig

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// benchModule is a 1 MiB module body, the size of a mid-sized real module.
func benchModule(b *testing.B) []byte {
	return append(hello(b), bytes.Repeat([]byte{0x5a}, 1<<20)...)
}

func BenchmarkSign(b *testing.B) {
	k := loadKey(b, "rsa2048")
	unsigned := benchModule(b)
	b.SetBytes(int64(len(unsigned)))
	for b.Loop() {
		if _, err := (Driver{}).Sign(unsigned, k, formats.SignOptions{Hash: crypto.SHA256}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	signed := sign(b, benchModule(b), loadKey(b, "rsa2048"), crypto.SHA256)
	ring := ringOf(b, "rsa2048")
	m := mod(signed)
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if v := (Driver{}).Verify(m, ring, formats.Policy{}); v.Outcome != formats.OK {
			b.Fatal(v)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	m := mod(sign(b, benchModule(b), loadKey(b, "rsa2048"), crypto.SHA256))
	for b.Loop() {
		if _, err := (Driver{}).Parse(m); err != nil {
			b.Fatal(err)
		}
	}
}
