package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/vectors"
)

const committedVectors = "../../testdata/vectors"

// TestVectorsCommand runs `kmodsig vectors` with the built-in inputs and compares every file
// with the committed set.
func TestVectorsCommand(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"vectors", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	n := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(out, p)
		got, _ := os.ReadFile(p)
		want, err := os.ReadFile(filepath.Join(committedVectors, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: differs from testdata/vectors (%v)", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("only %d files written", n)
	}
	if code := run([]string{"vectors", "--out", t.TempDir(), "--format", "pkcs8"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("unknown format: exit %d, want %d", code, exitUsage)
	}
}

// TestVerifyVectors runs `kmodsig verify --json --kernel K --keyring ...` on every committed
// vector and compares outcome, permissive and enforcing with the manifest. An unsigned
// module is judged by the era that --kernel names.
func TestVerifyVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(committedVectors, vectors.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m vectors.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, gt := range m.Tests() {
		g, tc := gt.Group, gt.Test
		args := []string{"verify", "--json", "--kernel", g.Kernel}
		for _, k := range g.Key.Keyring {
			args = append(args, "--keyring", filepath.Join(committedVectors, k))
		}
		args = append(args, filepath.Join(committedVectors, tc.File))
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		var res []verifyJSON
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res) != 1 {
			t.Errorf("tc %d: exit %d, output %q %q", tc.TcID, code, stdout.String(), stderr.String())
			continue
		}
		r := res[0]
		if r.Outcome != tc.Outcome || r.Permissive != tc.Permissive || r.Enforcing != tc.Enforcing {
			t.Errorf("tc %d %s [%s %s]: verify says %s %s %s, manifest %s %s %s (%s)", tc.TcID, tc.File, g.Format, g.Kernel,
				r.Outcome, r.Permissive, r.Enforcing, tc.Outcome, tc.Permissive, tc.Enforcing, r.Reason)
		}
		wantCode := exitOK
		if r.Outcome != "ok" {
			wantCode = exitFailed
		}
		if code != wantCode {
			t.Errorf("tc %d: exit %d, want %d", tc.TcID, code, wantCode)
		}
		checked++
	}
	t.Logf("kmodsig verify checked %d vectors", checked)
}
