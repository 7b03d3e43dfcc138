package vectors

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// FuzzValidate feeds arbitrary documents to the schema validator: it must not panic, and the
// committed manifest must stay valid.
func FuzzValidate(f *testing.F) {
	doc, err := os.ReadFile(filepath.Join(committed, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add([]byte(`{"testGroups":[{"tests":[{"tcId":1.5}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Validate(Schema, b)
	})
}

// FuzzVectors mutates the committed vectors and runs detection, every driver's Parse and
// Strip, the layer walk and verification on them: no panics, and a Parse error is a
// *formats.FormatError. The corpus is every artifact of the committed set.
func FuzzVectors(f *testing.F) {
	s, err := Generate(os.DirFS("../testdata"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	ring := &keys.Ring{}
	for _, p := range s.Paths() {
		if filepath.Ext(p) == ".ko" {
			f.Add(s.Files[p])
		} else if filepath.Dir(p) == "keys" {
			_ = ring.Add(s.Files[p])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := formats.NewModule("fuzz.ko", b)
		for _, d := range formats.All() {
			if d.Detect(m) {
				_, _ = d.Parse(m)
				_, _ = d.Strip(m)
			}
		}
		_ = conv.Layers(m)
		_ = conv.Verify(m, ring, formats.Policy{}, "")
	})
}
