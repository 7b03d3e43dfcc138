package conv

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestSignErrorNamesFormatOnce: a signing error names the file and the format once, whether
// or not the driver names itself ("m.ko: sign rhel6: rhel6: openpgp: ..." before).
func TestSignErrorNamesFormatOnce(t *testing.T) {
	before := time.Unix(-1, 0)
	for _, tc := range []struct{ id, key string }{{"rhel6", "dsa1024.key"}, {"gkh2004", "rsa2048.key"}, {"gpg2012", "rsa2048.key"}, {"digsig2012", "rsa2048.key"}} {
		_, err := Sign("m.ko", helloKO(t), tc.id, loadKey(t, tc.key), formats.SignOptions{Time: before})
		if err == nil {
			t.Errorf("%s: signed with a time before 1970", tc.id)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "m.ko: sign "+tc.id+": ") || strings.Count(msg, tc.id+":") != 1 {
			t.Errorf("%s: %q, want \"m.ko: sign %s: ...\" naming the format once", tc.id, msg, tc.id)
		}
	}
}
