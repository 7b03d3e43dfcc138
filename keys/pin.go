package keys

import (
	"fmt"
	"os"
)

func lookupPIN() (string, bool) { return os.LookupEnv(PINEnv) }

// passphrase returns KBUILD_SIGN_PIN, the passphrase of an encrypted private key, or an
// ErrPassphrase that says to set it.
func passphrase() ([]byte, error) {
	pin, ok := lookupPIN()
	if !ok {
		return nil, fmt.Errorf("%w: set %s", ErrPassphrase, PINEnv)
	}
	return []byte(pin), nil
}

// wrongPassphrase is the ErrPassphrase of a key that KBUILD_SIGN_PIN, set, did not decrypt;
// err is the decrypter's reason.
func wrongPassphrase(err error) error {
	return fmt.Errorf("%w: %s does not decrypt it (%v)", ErrPassphrase, PINEnv, err)
}
