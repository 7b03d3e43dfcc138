package kmodsig

import (
	"embed"
	"io/fs"
)

// vectorInputs are the committed keys and modules the test-vector generator reads
// (github.com/kmodsig/kmodsig/vectors.Inputs), so that `kmodsig vectors` writes the same
// bytes from any directory.
//
//go:embed testdata/keys/rsa2048.pem testdata/keys/rsa4096.pem testdata/keys/ecdsa-p256.pem
//go:embed testdata/keys/ecdsa-p384.pem testdata/keys/untrusted-rsa2048.pem
//go:embed testdata/keys/expired-rsa2048.pem testdata/keys/dsa1024.key
//go:embed testdata/modules/hello.ko testdata/elf/i386.ko testdata/elf/x86_64.ko
//go:embed testdata/elf/ppc32be.ko testdata/elf/s390x.ko
var vectorInputs embed.FS

// VectorInputs returns the embedded testdata directory (keys/, modules/, elf/) that
// vectors.Generate reads.
func VectorInputs() fs.FS {
	sub, err := fs.Sub(vectorInputs, "testdata")
	if err != nil {
		panic(err) // a constant path
	}
	return sub
}
