package peers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GPGHome is a throwaway GnuPG home for one test (ORACLES.md §5): gpg runs in batch mode
// with an empty passphrase, and the agent it starts is killed and the home removed when the
// test ends.
type GPGHome struct {
	T   testing.TB
	Bin string // the gpg binary
	Dir string // GNUPGHOME
}

// NewGPGHome makes a GPGHome, or skips the test (see Require) when gpg is missing. The
// directory is short and outside t.TempDir: gpg-agent's socket path is limited in length.
func NewGPGHome(t testing.TB) *GPGHome {
	t.Helper()
	bin := Require(t, "gpg")
	dir, err := os.MkdirTemp("", "kmg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p, err := exec.LookPath("gpgconf"); err == nil {
			c := exec.Command(p, "--kill", "gpg-agent")
			c.Env = append(os.Environ(), "GNUPGHOME="+dir)
			_ = c.Run()
		}
		os.RemoveAll(dir)
	})
	return &GPGHome{T: t, Bin: bin, Dir: dir}
}

// Run runs gpg in the home. It returns standard output, and on failure standard error after it.
func (g *GPGHome) Run(args ...string) ([]byte, error) {
	g.T.Helper()
	full := append([]string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)
	c := exec.Command(g.Bin, full...)
	c.Env = append(os.Environ(), "GNUPGHOME="+g.Dir, "LC_ALL=C")
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return append(out.Bytes(), errb.Bytes()...), err
	}
	return out.Bytes(), nil
}

// Must is Run, failing the test on error.
func (g *GPGHome) Must(args ...string) []byte {
	g.T.Helper()
	out, err := g.Run(args...)
	if err != nil {
		g.T.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// File writes data into the home and returns its path.
func (g *GPGHome) File(name string, data []byte) string {
	g.T.Helper()
	p := filepath.Join(g.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		g.T.Fatal(err)
	}
	return p
}

// Read reads a file of the home.
func (g *GPGHome) Read(name string) []byte {
	g.T.Helper()
	b, err := os.ReadFile(filepath.Join(g.Dir, name))
	if err != nil {
		g.T.Fatal(err)
	}
	return b
}
