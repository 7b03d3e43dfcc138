package digsig

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// evmctlVectors are the committed evmctl outputs (testdata/README.md).
var evmctlVectors = []struct {
	file, key, variant string
	h                  crypto.Hash
}{
	{"evmctl-v1-sha1.sig", "rsa2048", "v1", crypto.SHA1},
	{"evmctl-v1-sha256.sig", "rsa2048", "v1", crypto.SHA256},
	{"evmctl-v2-rsa2048-sha256.sig", "rsa2048", "v2", crypto.SHA256},
	{"evmctl-v2-ecdsa-p256-sha256.sig", "ecdsa-p256", "v2", crypto.SHA256},
}

// committedKey loads a testdata key; these vectors need exactly the committed keys.
func committedKey(t *testing.T, name string) *keys.Material {
	t.Helper()
	m, err := keys.LoadFile(filepath.Join("..", "testdata", "keys", name+".pem"))
	if err != nil {
		t.Skipf("committed key %s not available: %v", name, err)
	}
	return m
}

// TestEvmctlVectors: kmodsig verifies evmctl's committed .sig files (as IMA values and
// re-wrapped as digsig2012 modules) and reproduces the v1 ones byte for byte.
func TestEvmctlVectors(t *testing.T) {
	ko := helloKO(t)
	for _, tt := range evmctlVectors {
		t.Run(tt.file, func(t *testing.T) {
			k := committedKey(t, tt.key)
			ring := &keys.Ring{}
			ring.AddMaterial(k)
			x := readFile(t, filepath.Join("testdata", tt.file))
			v := VerifyIMA(bytes.NewReader(ko), x, ring)
			if v.Outcome != formats.OK || v.Variant != tt.variant || v.Hash != formats.HashName(tt.h) {
				t.Fatalf("VerifyIMA = %s (%s %s)", v, v.Variant, v.Hash)
			}
			m, err := AppendTrailer(ko, x[1:])
			if err != nil {
				t.Fatal(err)
			}
			if v := (Driver{}).Verify(mod(m), ring, formats.Policy{}); v.Outcome != formats.OK {
				t.Errorf("as digsig2012 module: %s", v)
			}
			if tt.variant == "v1" {
				ts := int64(binary.LittleEndian.Uint32(x[2:6]))
				s, _ := ParseImaXattr(x)
				if s.Timestamp().Unix() != ts {
					t.Fatal("timestamp")
				}
				ours, err := SignIMA(bytes.NewReader(ko), k, formats.SignOptions{Time: s.Timestamp(), Hash: tt.h})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ours, x) {
					t.Errorf("kmodsig differs from evmctl:\n ours   %x\n evmctl %x", ours, x)
				}
			}
		})
	}
}

func TestSignFileRoundTrip(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	f := filepath.Join(t.TempDir(), "m.ko")
	writeFile(t, f, helloKO(t))
	for _, variant := range []string{"v1", "v2"} {
		if _, err := SignFile(f, tk.m, formats.SignOptions{Variant: variant}); err != nil {
			t.Fatal(err)
		}
		v, err := VerifySigFile(f, tk.ring())
		if err != nil || v.Outcome != formats.OK {
			t.Fatalf("%s: %v %s", variant, err, v)
		}
	}
	writeFile(t, f+".sig", []byte{1, 2, 3})
	v, err := VerifySigFile(f, tk.ring())
	if err != nil || v.Outcome != formats.Corrupt {
		t.Errorf("digest-type xattr: %v %s", err, v)
	}
	var fe *formats.FormatError
	if fe, _ = v.Err.(*formats.FormatError); fe == nil || fe.Path != f+".sig" || fe.Off != 0 {
		t.Errorf("error %v", v.Err)
	}
	writeFile(t, f+".sig", make([]byte, MaxXattrSize+1))
	if _, err := VerifySigFile(f, tk.ring()); err == nil {
		t.Error("oversized .sig accepted")
	}
	if _, err := VerifySigFile(filepath.Join(t.TempDir(), "missing"), tk.ring()); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseImaXattrErrors(t *testing.T) {
	tests := []struct {
		in  string
		off int64
	}{
		{"", 0},
		{"01 aabb", 0},
		{"03", 1},
		{"03 01 00", 1},
		{"03 02 04 00000000 0005 aa", 7},
	}
	for _, tt := range tests {
		_, err := ParseImaXattr(mustHex(t, tt.in))
		fe, ok := err.(*formats.FormatError)
		if !ok || fe.Off != tt.off || fe.Format != "ima" {
			t.Errorf("ParseImaXattr(%s) = %v, want an ima FormatError at %d", tt.in, err, tt.off)
		}
	}
}
