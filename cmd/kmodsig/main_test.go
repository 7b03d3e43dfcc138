package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"patch": cmdPatch,
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
