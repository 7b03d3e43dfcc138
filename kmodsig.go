// Package kmodsig reads, verifies, strips, signs and converts Linux kernel module signatures
// in every historical format, and re-signs modules across formats with the same key.
//
// The path of data through the tool follows the folders:
//
//   - [github.com/kmodsig/kmodsig/formats]: the Driver contract, detection, the shared
//     trailer codecs, verdicts and errors.
//   - one package per family of formats, each telling its formats' whole story:
//     elfsig (gkh2004, rhel5, rhel6), gpgsig (gpg2012 and the OpenPGP packet codec), digsig
//     (digsig2012 and the IMA forms), x509sig (x509, Linux 3.7-4.2), pkcs7sig (pkcs7, 4.3+).
//   - [github.com/kmodsig/kmodsig/keys]: one key, every era's public form; keyrings.
//   - [github.com/kmodsig/kmodsig/conv]: module files (compressed or not, atomic writes),
//     sign/strip/verify of one module, and the batch converter over trees.
//   - [github.com/kmodsig/kmodsig/vectors]: deterministic test vectors for every era.
//   - cmd/kmodsig: the command line.
//
// This root package holds the embedded sample modules and demo key, and [Demo], the main job
// shown on them.
package kmodsig

import _ "embed"

// Sample modules, built from C source in testdata (see testdata/modules/README.md) and keys
// from testdata/keys (see its README.md). The demo key is the RSA-2048 test key; the RHEL eras
// need DSA, so the demo also carries the DSA-1024 test key.
var (
	//go:embed testdata/modules/hello.ko
	SampleModule []byte
	//go:embed testdata/modules/hello2.ko
	SampleModule2 []byte
	//go:embed testdata/keys/rsa2048.pem
	DemoKey []byte
	//go:embed testdata/keys/dsa1024.key
	DemoDSAKey []byte
)
