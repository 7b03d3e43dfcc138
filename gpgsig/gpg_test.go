package gpgsig

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/internal/peers"
)

// gpgHome is a throwaway GNUPGHOME (ORACLES.md §5) for one test.
type gpgHome struct {
	t   testing.TB
	bin string
	dir string
}

func newGPG(t testing.TB) *gpgHome {
	t.Helper()
	bin := peers.Require(t, "gpg")
	dir, err := os.MkdirTemp("", "kmg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gpgHome{t: t, bin: bin, dir: dir}
	t.Cleanup(func() {
		if p, err := exec.LookPath("gpgconf"); err == nil {
			c := exec.Command(p, "--kill", "gpg-agent")
			c.Env = append(os.Environ(), "GNUPGHOME="+dir)
			_ = c.Run()
		}
		os.RemoveAll(dir)
	})
	return g
}

// run runs gpg in the home with the batch/loopback flags and returns stdout+stderr.
func (g *gpgHome) run(args ...string) ([]byte, error) {
	g.t.Helper()
	full := append([]string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)
	c := exec.Command(g.bin, full...)
	c.Env = append(os.Environ(), "GNUPGHOME="+g.dir, "LC_ALL=C")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.Bytes(), err
}

func (g *gpgHome) must(args ...string) []byte {
	g.t.Helper()
	out, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// file writes data into the home directory and returns its path.
func (g *gpgHome) file(name string, data []byte) string {
	g.t.Helper()
	p := filepath.Join(g.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return p
}

func (g *gpgHome) read(name string) []byte {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.dir, name))
	if err != nil {
		g.t.Fatal(err)
	}
	return b
}

// verify runs gpg --verify with a status fd and reports whether gpg printed GOODSIG and
// VALIDSIG, with the output for messages.
func (g *gpgHome) verify(sig, payload []byte, extra ...string) (bool, string) {
	g.t.Helper()
	sp, pp := g.file("v.sig", sig), g.file("v.payload", payload)
	args := append(append([]string{"--status-fd", "1"}, extra...), "--verify", sp, pp)
	out, _ := g.run(args...)
	s := string(out)
	return strings.Contains(s, "[GNUPG:] GOODSIG ") && strings.Contains(s, "[GNUPG:] VALIDSIG "), s
}
