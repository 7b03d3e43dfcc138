package conv

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestSignNoModule: an empty file is refused with ErrNoModule in every target format, by
// Sign and by a batch, instead of being signed and then failing the self-check with "sig_len
// takes all bytes before the trailer, leaving no module".
func TestSignNoModule(t *testing.T) {
	k := loadKey(t, "rsa2048.key")
	for _, d := range formats.All() {
		_, err := Sign("empty.ko", nil, d.ID(), k, formats.SignOptions{Force: true})
		if !errors.Is(err, ErrNoModule) || !strings.Contains(err.Error(), "the file is empty") {
			t.Errorf("%s: Sign(empty) = %v, want ErrNoModule", d.ID(), err)
		}
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.ko")
	writeFile(t, empty, nil)
	rep := Convert(context.Background(), []Input{{Path: empty, Rel: "empty.ko"}},
		Options{To: "pkcs7", Key: k, OutDir: filepath.Join(dir, "out"), Jobs: 1})
	if rep.Failed != 1 || !strings.Contains(rep.Files[0].Error, "no module to sign: the file is empty") {
		t.Errorf("convert of an empty file: %+v", rep.Files[0])
	}
}
