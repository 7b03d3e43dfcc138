package keys

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// addKeySeeds adds every file under testdata/keys and testdata/vectors/keys to f's corpus:
// PEM and DER private keys and certificates, OpenPGP keyrings, digsig blobs.
func addKeySeeds(f *testing.F) {
	for _, dir := range []string{testKeys, "../testdata/vectors/keys"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil {
				f.Add(b)
			}
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
	}
}

// FuzzParse feeds arbitrary bytes to the private-key reader (every form LoadFile takes): it
// must not panic, and a key it accepts has a public half.
func FuzzParse(f *testing.F) {
	addKeySeeds(f)
	os.Unsetenv(PINEnv)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err == nil && m.Public() == nil {
			t.Fatal("accepted material without a public key")
		}
	})
}

// FuzzRingAdd feeds arbitrary bytes to the keyring reader (certificates, public keys, OpenPGP
// keyrings, digsig blobs, private keys): it must not panic, and what it accepts is in the ring.
func FuzzRingAdd(f *testing.F) {
	addKeySeeds(f)
	os.Unsetenv(PINEnv)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &Ring{}
		if err := r.Add(b); err == nil && len(r.Certs)+len(r.Keys)+len(r.PGP) == 0 {
			t.Fatal("accepted a file that added no key")
		}
	})
}
