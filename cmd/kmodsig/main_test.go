package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kmodsig/kmodsig/internal/peers"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kmodsig": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the CLI scripts in testdata/script (txtar files that read like a shell
// session). $KEYS and $MODS point at the committed keys and sample modules.
func TestScript(t *testing.T) {
	root, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join(root, "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("KEYS", filepath.Join(root, "keys"))
			e.Setenv("MODS", filepath.Join(root, "modules"))
			e.Setenv("ELF", filepath.Join(root, "elf"))
			return nil
		},
		RequireExplicitExec: true,
		// [peer:NAME] is true when the peer tool NAME is installed; when it is missing and
		// KMODSIG_REQUIRE_PEERS=1 (make test as root, CI) the script fails instead of skipping.
		Condition: func(cond string) (bool, error) {
			name, ok := strings.CutPrefix(cond, "peer:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(name); err == nil {
				return true, nil
			}
			if peers.Required() {
				return false, fmt.Errorf("peer %s missing but KMODSIG_REQUIRE_PEERS=1", name)
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"patch":    cmdPatch,
			"siglines": cmdSiglines,
		},
	})
}

// cmdPatch implements `patch FILE OFFSET HEX`: overwrite bytes of FILE at OFFSET (negative:
// from the end) with the hex bytes, for making broken modules in scripts.
func cmdPatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: patch FILE OFFSET HEX")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	if off < 0 {
		off += len(b)
	}
	x, err := hex.DecodeString(args[2])
	ts.Check(err)
	if off < 0 || off+len(x) > len(b) {
		ts.Fatalf("patch: offset %d+%d outside %d bytes", off, len(x), len(b))
	}
	copy(b[off:], x)
	ts.Check(os.WriteFile(p, b, 0o644))
}

// cmdSiglines implements `siglines IN OUT`: copy modinfo's signature block (sig_id, signer,
// sig_key, sig_hashalgo, signature and its continuation lines) from IN to OUT, so that the
// output of `modinfo` and of `kmodsig inspect` can be compared byte for byte with cmp.
func cmdSiglines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: siglines IN OUT")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "sig_id:"), strings.HasPrefix(line, "signer:"), strings.HasPrefix(line, "sig_key:"),
			strings.HasPrefix(line, "sig_hashalgo:"), strings.HasPrefix(line, "signature:"):
			in = true
			out = append(out, line)
		case in && strings.HasPrefix(line, "\t\t"):
			out = append(out, line)
		default:
			in = false
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(out, "\n")+"\n"), 0o644))
}
