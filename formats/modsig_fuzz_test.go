package formats

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/internal/peers"
)

// FuzzParseModSig: ParseModSig never panics; what it accepts is consistent (the parts tile
// the file) and AppendModSig rebuilds the input byte for byte. Seeds are testdata/modules
// signed in the setup: with sign-file when it is installed, and with hand-made trailers of
// each id_type.
func FuzzParseModSig(f *testing.F) {
	mods, _ := filepath.Glob("../testdata/modules/*.ko")
	for _, p := range mods {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		for _, id := range []uint8{IDTypePGP, IDTypeX509, IDTypePKCS7} {
			s, err := AppendModSig(b, []byte("signer"), []byte("key id"), []byte("signature bytes"), ModSig{IDType: id})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(s)
		}
		if _, err := exec.LookPath(peers.SignFile); err == nil {
			out := filepath.Join(f.TempDir(), "s.ko")
			cmd := exec.Command(peers.SignFile, "sha256", "../testdata/keys/rsa2048.key", "../testdata/keys/rsa2048.der", p, out)
			if err := cmd.Run(); err == nil {
				if s, err := os.ReadFile(out); err == nil {
					f.Add(s)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewModule("f", b)
		tr, err := ParseModSig(m, "fuzz")
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		if tr.PayloadLen < 0 || tr.SignerOff != tr.PayloadLen || tr.KeyIDOff != tr.SignerOff+int64(tr.Block.SignerLen) ||
			tr.SigOff != tr.KeyIDOff+int64(tr.Block.KeyIDLen) || tr.SigOff+int64(tr.Block.SigLen) != tr.BlockOff ||
			tr.BlockOff+40 != int64(len(b)) {
			t.Fatalf("inconsistent trailer %+v for %d bytes", tr, len(b))
		}
		sig := b[tr.SigOff:tr.BlockOff]
		re, err := AppendModSig(b[:tr.PayloadLen], tr.Signer, tr.KeyID, sig, tr.Block)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, b) {
			t.Fatal("AppendModSig does not rebuild the input")
		}
	})
}
