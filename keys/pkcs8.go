package keys

import "github.com/youmark/pkcs8"

// decryptPKCS8 decrypts an "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2, what OpenSSL 3 writes
// by default) with the passphrase in KBUILD_SIGN_PIN. The standard library has no PBES2, so
// this uses github.com/youmark/pkcs8.
func decryptPKCS8(der []byte) ([]byte, error) {
	pin, err := passphrase()
	if err != nil {
		return nil, err
	}
	k, err := pkcs8.ParsePKCS8PrivateKey(der, pin)
	if err != nil {
		return nil, wrongPassphrase(err)
	}
	return pkcs8.MarshalPrivateKey(k, nil, nil)
}
