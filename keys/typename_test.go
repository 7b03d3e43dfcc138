package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

// TestTypeName names each committed key as keys show prints it.
func TestTypeName(t *testing.T) {
	for _, c := range []struct {
		file, want string
	}{
		{"rsa2048.key", "RSA-2048"},
		{"rsa4096.key", "RSA-4096"},
		{"dsa1024.key", "DSA-1024"},
		{"ecdsa-p256.key", "ECDSA-P256"},
		{"ecdsa-p384.key", "ECDSA-P384"},
	} {
		m, err := LoadFile(keyPath(c.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := TypeName(m.Public()); got != c.want {
			t.Errorf("%s: %q, want %q", c.file, got, c.want)
		}
	}
	if got := TypeName(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize))); got != "Ed25519" {
		t.Errorf("Ed25519: %q", got)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if got := TypeName(x.PublicKey()); got != "X25519" {
		t.Errorf("X25519: %q", got)
	}
	// A PKCS#8 X25519 key is named, and refused as no signing key.
	der, err := x509.MarshalPKCS8PrivateKey(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(der); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "an X25519 key agrees on secrets and cannot sign") {
		t.Errorf("X25519 private key: %v", err)
	}
	var unknown crypto.PublicKey = struct{}{}
	if got := TypeName(unknown); got != "struct {}" {
		t.Errorf("unknown type: %q", got)
	}
}
