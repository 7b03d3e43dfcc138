package keys

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFile is the most kmodsig reads of a key, certificate, keyring or PIN file: far more than
// any of them holds (a 16384-bit RSA key in PEM is 13 KB, a distribution's whole CA bundle
// about 200 KB, a large exported gpg keyring a few MB), so that a wrong argument (a module,
// a disk image, /dev/zero) is refused with an error instead of being read into memory
// until the process dies.
const MaxFile = 16 << 20

// ErrFileTooLarge is returned for a key, certificate or keyring file larger than MaxFile.
var ErrFileTooLarge = errors.New("larger than 16 MiB: not a key, certificate or keyring")

// readFile reads path, at most MaxFile bytes. It reads what it is given, as os.ReadFile does:
// a pipe works (`--key <(pass show signing-key)`), a FIFO waits for its writer.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, err // an *fs.PathError: it names the file
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("%s: %w", path, ErrFileTooLarge)
	}
	return b, nil
}
