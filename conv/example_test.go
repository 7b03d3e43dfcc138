package conv_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// Sign a module as sign-file would, then check it as a Linux 6.1 kernel would, against the
// certificate it trusts.
func ExampleSign() {
	k, err := keys.LoadFile("../testdata/keys/rsa2048.pem") // key and certificate, as CONFIG_MODULE_SIG_KEY
	if err != nil {
		log.Fatal(err)
	}
	module, err := os.ReadFile("../testdata/modules/hello.ko")
	if err != nil {
		log.Fatal(err)
	}
	res, err := conv.Sign("hello.ko", module, "pkcs7", k, formats.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}
	ring, err := keys.LoadRing("../testdata/keys/rsa2048.crt")
	if err != nil {
		log.Fatal(err)
	}
	v := conv.Verify(formats.NewModule("hello.ko", res.Signed), ring, formats.Policy{}, "")
	fmt.Println(v.Format, v.Outcome, "permissive", v.Permissive, "enforcing", v.Enforcing)
	// Output: pkcs7 ok permissive OK enforcing OK
}

// Strip every signature, getting back the module exactly as it was before signing.
func ExampleStripAll() {
	k, err := keys.LoadFile("../testdata/keys/rsa2048.pem")
	if err != nil {
		log.Fatal(err)
	}
	module, err := os.ReadFile("../testdata/modules/hello.ko")
	if err != nil {
		log.Fatal(err)
	}
	res, err := conv.Sign("hello.ko", module, "gpg2012", k, formats.SignOptions{})
	if err != nil {
		log.Fatal(err)
	}
	unsigned, removed, err := conv.StripAll(formats.NewModule("hello.ko", res.Signed))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(removed, bytes.Equal(unsigned, module))
	// Output: [gpg2012] true
}

// Re-sign a tree of modules in the 3.7-era x509 format with the same key, writing the
// results under another directory.
func ExampleConvert() {
	dir, err := os.MkdirTemp("", "kmodsig-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	module, err := os.ReadFile("../testdata/modules/hello.ko")
	if err != nil {
		log.Fatal(err)
	}
	tree := filepath.Join(dir, "modules")
	for _, name := range []string{"kernel/a.ko", "kernel/drivers/b.ko"} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, module, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	k, err := keys.LoadFile("../testdata/keys/rsa2048.pem")
	if err != nil {
		log.Fatal(err)
	}
	inputs, err := conv.Walk([]string{tree})
	if err != nil {
		log.Fatal(err)
	}
	rep := conv.Convert(context.Background(), inputs, conv.Options{To: "x509", Key: k, OutDir: filepath.Join(dir, "out")})
	fmt.Printf("%d converted, %d failed\n", rep.Converted, rep.Failed)
	for _, f := range rep.Files {
		out, err := filepath.Rel(dir, f.Output)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(out, f.Outcome)
	}
	// Output:
	// 2 converted, 0 failed
	// out/kernel/a.ko converted
	// out/kernel/drivers/b.ko converted
}
