package conv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestOpenReader: a module read from a stream is the module Open reads from a file, for each
// container; bad compressed data is a FormatError naming the stream.
func TestOpenReader(t *testing.T) {
	mod := helloKO(t)
	for _, c := range []Compression{None, XZ, Zstd, Gzip} {
		b, err := Compress(mod, c) // None gives mod back
		if err != nil {
			t.Fatal(err)
		}
		f, err := OpenReader("-", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got, err := f.Bytes()
		if err != nil || !bytes.Equal(got, mod) || f.Compression != c || f.Module.Size != int64(len(mod)) || f.Module.Name != "-" {
			t.Errorf("%s: %d bytes, compression %q, size %d, name %q, %v", c, len(got), f.Compression, f.Module.Size, f.Module.Name, err)
		}
		f.Close()
	}
	xz, err := Compress(mod, XZ)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenReader("-", bytes.NewReader(xz[:100]))
	var fe *formats.FormatError
	if !errors.As(err, &fe) || fe.Path != "-" || fe.Format != string(XZ) {
		t.Fatalf("truncated xz: %v, want a FormatError naming - and xz", err)
	}
}
