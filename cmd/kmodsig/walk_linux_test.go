package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnreadableDirectory: a directory inside a tree that cannot be read is an error line
// and exit status 2, after inspect, verify and convert have done the rest of the tree (they
// used to stop at it and print nothing for the tree). As root, which reads every directory,
// the commands run with nobody's filesystem identity on this goroutine's thread (setfsuid),
// where the walk runs.
func TestUnreadableDirectory(t *testing.T) {
	testdata, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	ko, err := os.ReadFile(filepath.Join(testdata, "modules", "hello.ko"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for _, p := range []string{"a/x.ko", "b/y.ko"} {
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, p), ko, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unreadable := filepath.Join(tree, "b")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(unreadable, 0o755)
	if os.Geteuid() == 0 {
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if err := os.Chmod(d, 0o777); err != nil {
				t.Fatal(err)
			}
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		unix.Setfsuid(65534)
		defer unix.Setfsuid(0)
	}
	for _, tc := range []struct {
		args []string
		out  string // a part of stdout, or of stderr for convert
	}{
		{[]string{"inspect", "--json", tree}, `"path":"` + filepath.Join(tree, "a", "x.ko") + `"`},
		{[]string{"verify", tree}, filepath.Join(tree, "a", "x.ko") + ": unsigned"},
		{[]string{"convert", "--to", "pkcs7", "--key", filepath.Join(testdata, "keys", "rsa2048.pem"),
			"--out-dir", filepath.Join(dir, "out"), tree}, "1 converted, 0 skipped, 0 dry-run, 0 failed of 1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "error: open "+unreadable+": permission denied") ||
			!strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("kmodsig %s: exit %d\nstdout:\n%s\nstderr:\n%s", tc.args[0], code, stdout.String(), stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "a", "x.ko")); err != nil {
		t.Errorf("convert did not write the readable part: %v", err)
	}
}
