package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"strings"

	//lint:ignore SA1019 the RHEL eras (RHEL4-6) verify only DSA signatures
	"crypto/dsa"
)

// TypeName names a public key's type and size as people and keys show print them: RSA-2048,
// DSA-1024, ECDSA-P256, Ed25519. A type kmodsig has no name for is named by its Go type.
func TypeName(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *dsa.PublicKey:
		return fmt.Sprintf("DSA-%d", k.P.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA-" + strings.ReplaceAll(k.Curve.Params().Name, "-", "")
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.X25519() {
			return "X25519"
		}
		return "ECDH-" + strings.ReplaceAll(fmt.Sprint(k.Curve()), "-", "")
	}
	return fmt.Sprintf("%T", pub)
}
