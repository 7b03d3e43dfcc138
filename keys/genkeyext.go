package keys

import (
	"crypto/x509/pkix"
	"encoding/asn1"
)

// genkeyExtensions returns the extensions of the certificate the kernel's x509.genkey makes,
// in its order and form, for a key with subjectKeyIdentifier skid:
//
//	basicConstraints=critical,CA:FALSE
//	keyUsage=digitalSignature
//	subjectKeyIdentifier=hash
//	authorityKeyIdentifier=keyid
//
// They are given to crypto/x509 as extra extensions (with the template's own fields left
// empty) because its own keyUsage is always critical, where openssl writes this one
// non-critical, and its order is not genkey's.
func genkeyExtensions(skid []byte) []pkix.Extension {
	octets := func(b []byte) []byte { // an OCTET STRING of b (b is 20 bytes: one length byte)
		return append([]byte{0x04, byte(len(b))}, b...)
	}
	return []pkix.Extension{
		// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, ... }: CA:FALSE is empty.
		{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x00}},
		// KeyUsage ::= BIT STRING, digitalSignature = bit 0: 7 unused bits, 0x80.
		{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Value: []byte{0x03, 0x02, 0x07, 0x80}},
		{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: octets(skid)},
		// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }.
		{Id: asn1.ObjectIdentifier{2, 5, 29, 35}, Value: append([]byte{0x30, byte(2 + len(skid)), 0x80, byte(len(skid))}, skid...)},
	}
}
