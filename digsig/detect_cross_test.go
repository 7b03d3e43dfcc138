package digsig_test

// Detection across the two MAGIC30 formats with both real drivers registered: each claims
// its own modules and never the other's.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/digsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/gpgsig"
	"github.com/kmodsig/kmodsig/keys"
)

func TestDetectAgainstGPG2012Driver(t *testing.T) {
	k, err := keys.LoadFile(filepath.Join("..", "testdata", "keys", "rsa2048.pem"))
	if err != nil {
		t.Skipf("committed key: %v", err)
	}
	ko, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	dig, gpg := digsig.Driver{}, gpgsig.Driver{}
	cases := map[string]formats.Driver{}
	for _, variant := range []string{"v1", "v2"} {
		b, err := dig.Sign(ko, k, formats.SignOptions{Variant: variant})
		if err != nil {
			t.Fatal(err)
		}
		cases[string(b)] = dig
	}
	b, err := gpg.Sign(ko, k, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases[string(b)] = gpg
	if len(cases) != 3 {
		t.Fatal("duplicate signed modules")
	}
	for b, want := range cases {
		m := formats.NewModule("m.ko", []byte(b))
		if got := formats.Detect(m); got == nil || got.ID() != want.ID() {
			t.Errorf("formats.Detect = %v, want %s", got, want.ID())
		}
		for _, d := range []formats.Driver{dig, gpg} {
			if d.Detect(m) != (d.ID() == want.ID()) {
				t.Errorf("%s.Detect on a %s module = %v", d.ID(), want.ID(), d.Detect(m))
			}
		}
	}
}
