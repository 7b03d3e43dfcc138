package pkcs7sig

import (
	"bytes"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// bigModule is hello.ko padded to 1 MiB of payload.
func bigModule(b *testing.B) []byte {
	b.Helper()
	m := hello(b)
	return append(m, bytes.Repeat([]byte{0x5a}, 1<<20-len(m))...)
}

func BenchmarkParse(b *testing.B) {
	signed, err := Driver{}.Sign(hello(b), material(b, "rsa4096"), formats.SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := formats.NewModule("m.ko", signed)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Driver{}).Parse(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify hashes a 1 MiB payload and checks an RSA-4096/SHA-256 signature; SetBytes
// makes the MB/s figure comparable with sha256sum over the same file.
func BenchmarkVerify(b *testing.B) {
	signed, err := Driver{}.Sign(bigModule(b), material(b, "rsa4096"), formats.SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := formats.NewModule("m.ko", signed)
	r := ring(b, "rsa4096")
	b.SetBytes(int64(len(signed)))
	b.ReportAllocs()
	for b.Loop() {
		if v := (Driver{}).Verify(m, r, formats.Policy{}); v.Outcome != formats.OK {
			b.Fatal(v)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	payload := hello(b)
	for _, key := range []string{"rsa2048", "rsa4096", "ecdsa-p384"} {
		b.Run(key, func(b *testing.B) {
			k := material(b, key)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := (Driver{}).Sign(payload, k, formats.SignOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
