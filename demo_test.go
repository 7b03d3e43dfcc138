package kmodsig

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// TestDemo runs the demo in a temporary directory: every writable format is signed, every
// ordered pair converts, and each file it leaves verifies with the demo keys in its format.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := Demo(&out, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	want := []string{"pkcs7", "x509", "gpg2012", "digsig2012", "rhel6", "rhel5", "gkh2004"}
	if len(res.Formats) != len(want) {
		t.Fatalf("demo signed %v, want the seven writable formats %v", res.Formats, want)
	}
	if res.Failed != 0 {
		t.Fatalf("%d conversions failed: %v", res.Failed, res.Matrix)
	}
	rsa, _ := keys.Parse(DemoKey)
	dsa, _ := keys.Parse(DemoDSAKey)
	ring := &keys.Ring{}
	for _, k := range []*keys.Material{rsa, dsa} {
		if _, err := k.OpenPGP(); err != nil {
			t.Fatal(err)
		}
		if k.Signer != nil {
			if _, err := k.Certificate(); err != nil {
				t.Fatal(err)
			}
		}
		ring.AddMaterial(k)
		ring.Keys = append(ring.Keys, k.Public())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "converted", "*.ko"))
	if len(files) != len(want)*(len(want)-1) {
		t.Fatalf("%d converted files, want %d", len(files), len(want)*(len(want)-1))
	}
	for _, f := range append(files, filepath.Join(dir, "pkcs7.ko")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := formats.NewModule(f, b)
		if v := conv.Verify(m, ring, formats.Policy{}, ""); v.Outcome != formats.OK {
			t.Errorf("%s: %v", filepath.Base(f), v)
		}
		if ls := conv.Layers(m); len(ls) != 1 {
			t.Errorf("%s: %d signature layers, want 1", filepath.Base(f), len(ls))
		}
	}
}
