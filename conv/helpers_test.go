package conv

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kmodsig/kmodsig/keys"
)

// testdata is the repository's shared test data.
const testdata = "../testdata"

// loadKey loads a committed key (testdata/keys/NAME).
func loadKey(t testing.TB, name string) *keys.Material {
	t.Helper()
	k, err := keys.LoadFile(filepath.Join(testdata, "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// readFile reads a file or fails the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile writes a file or fails the test.
func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// helloKO returns the committed unsigned x86-64 test module.
func helloKO(t testing.TB) []byte {
	t.Helper()
	return readFile(t, filepath.Join(testdata, "modules", "hello.ko"))
}

// peer runs an independent tool and returns its combined output and exit status.
func peer(t testing.TB, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), 0
}

// mustPeer runs a tool and fails the test unless it exits 0.
func mustPeer(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, rc := peer(t, name, args...)
	if rc != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), rc, out)
	}
	return out
}

// pubPEM writes k's public key as a PEM SubjectPublicKeyInfo (what `openssl rsa -pubout` writes).
func pubPEM(t testing.TB, k *keys.Material, path string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// certPEM writes k's certificate as PEM.
func certPEM(t testing.TB, k *keys.Material, path string) {
	t.Helper()
	c, err := k.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  string
)

// buildCLI builds cmd/kmodsig once per test process and returns the binary's path.
func buildCLI(t testing.TB) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kmodsig-conv-test-")
		if err != nil {
			cliErr = err.Error()
			return
		}
		p := filepath.Join(dir, "kmodsig")
		out, err := exec.Command("go", "build", "-o", p, "../cmd/kmodsig").CombinedOutput()
		if err != nil {
			cliErr = err.Error() + "\n" + string(out)
			return
		}
		cliPath = p
	})
	if cliPath == "" {
		t.Fatalf("building cmd/kmodsig: %s", cliErr)
	}
	return cliPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cliPath != "" {
		os.RemoveAll(filepath.Dir(cliPath))
	}
	os.Exit(code)
}

// aheadLog counts, per path, the files a test's batch asked to read ahead.
type aheadLog struct {
	mu     sync.Mutex
	n      map[string]int
	cached bool // answer as if every file were in the page cache
}

// recordReadAhead replaces readAhead with a recorder until the test ends.
func recordReadAhead(t *testing.T) *aheadLog {
	a := &aheadLog{n: map[string]int{}}
	old := readAhead
	t.Cleanup(func() { readAhead = old })
	readAhead = func(p string) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.n[p]++
		return !a.cached
	}
	return a
}

// count is how often path was read ahead.
func (a *aheadLog) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[path]
}

// len is how many files were read ahead.
func (a *aheadLog) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.n)
}

// reset forgets what was read ahead, and sets how the recorder answers from now on.
func (a *aheadLog) reset(cached bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.n)
	a.cached = cached
}
