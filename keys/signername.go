package keys

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"

	"github.com/kmodsig/kmodsig/internal/memo"
)

var (
	oidCN    = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// SignerName derives the signer name the kernel gives a certificate (x509_fabricate_name,
// unchanged from 3.7 to today; the 3.7 perl sign-file used the same rule for the x509
// trailer's signer field) from the subject's raw CN, O and emailAddress bytes:
//
//  1. With both O and CN: CN if CN starts with O; CN if both are at least 7 bytes and their
//     first 7 bytes are equal; else "O: CN".
//  2. Else CN, else O, else emailAddress, else "".
//
// When an attribute occurs more than once the last one counts, as in the kernel parser.
// Values are the raw ASN.1 string bytes, without any string-type conversion.
func SignerName(c *x509.Certificate) string { return signerNames.Get(c.RawSubject, signerName) }

// signerNames remembers the names of the subjects seen: verifying a module tree names the
// same signer for every file (internal/memo).
var signerNames memo.Strings

func signerName(rawSubject []byte) string {
	cn, o, email := subjectParts(rawSubject)
	return fabricate(cn, o, email)
}

func fabricate(cn, o, email []byte) string {
	if len(cn) > 0 && len(o) > 0 {
		if bytes.HasPrefix(cn, o) {
			return string(cn)
		}
		if len(cn) >= 7 && len(o) >= 7 && bytes.Equal(cn[:7], o[:7]) {
			return string(cn)
		}
		return string(o) + ": " + string(cn)
	}
	switch {
	case len(cn) > 0:
		return string(cn)
	case len(o) > 0:
		return string(o)
	}
	return string(email)
}

func subjectParts(rawSubject []byte) (cn, o, email []byte) {
	var rdns []asn1.RawValue
	if _, err := asn1.Unmarshal(rawSubject, &rdns); err != nil {
		return nil, nil, nil
	}
	for _, set := range rdns {
		rest := set.Bytes
		for len(rest) > 0 {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			var err error
			rest, err = asn1.Unmarshal(rest, &atv)
			if err != nil {
				break
			}
			switch {
			case atv.Type.Equal(oidCN):
				cn = atv.Value.Bytes
			case atv.Type.Equal(oidO):
				o = atv.Value.Bytes
			case atv.Type.Equal(oidEmail):
				email = atv.Value.Bytes
			}
		}
	}
	return cn, o, email
}
