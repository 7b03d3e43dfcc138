package conv

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
)

// killTree writes n modules (copies of the committed test modules under other names, some
// signed with another key, some compressed, some mode 0600) under dir and returns, per path,
// the original bytes and the bytes a pkcs7 conversion with k must produce (signing and
// compression are deterministic for RSA).
func killTree(t *testing.T, dir string, n int) (orig, want map[string][]byte, modes map[string]os.FileMode) {
	k := loadKey(t, "rsa2048.pem")
	old := loadKey(t, "untrusted-rsa2048.pem")
	bases := [][]byte{
		readFile(t, filepath.Join(testdata, "modules", "hello.ko")),
		readFile(t, filepath.Join(testdata, "modules", "hello2.ko")),
		readFile(t, filepath.Join(testdata, "elf", "x86_64.ko")),
		readFile(t, filepath.Join(testdata, "elf", "i386.ko")),
		readFile(t, filepath.Join(testdata, "elf", "ppc32be.ko")),
		readFile(t, filepath.Join(testdata, "elf", "s390x.ko")),
	}
	orig, want, modes = map[string][]byte{}, map[string][]byte{}, map[string]os.FileMode{}
	for i := 0; i < n; i++ {
		mod := bases[i%len(bases)]
		if i%3 == 1 {
			res, err := Sign("m", mod, "pkcs7", old, formats.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mod = res.Signed
		}
		c := []Compression{None, None, XZ, Zstd}[i%4]
		res, err := Sign("m", mod, "pkcs7", k, formats.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := Compress(mod, c)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Compress(res.Signed, c)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%7), fmt.Sprintf("mod%03d.ko%s", i, c.Ext()))
		writeFile(t, p, in)
		modes[p] = 0o644
		if i%5 == 0 {
			modes[p] = 0o600
		}
		if err := os.Chmod(p, modes[p]); err != nil {
			t.Fatal(err)
		}
		orig[p], want[p] = in, out
	}
	return orig, want, modes
}

// treeState checks that every module is either its original or its complete conversion
// (never truncated or partly written) and that the mode survived; it returns how many are
// converted and how many temporary files lie around.
func treeState(t *testing.T, dir string, orig, want map[string][]byte, modes map[string]os.FileMode) (converted, temps int) {
	t.Helper()
	for p, o := range orig {
		b := readFile(t, p)
		switch {
		case bytes.Equal(b, want[p]):
			converted++
		case bytes.Equal(b, o):
		default:
			t.Errorf("%s: %d bytes, neither the original (%d) nor the conversion (%d)", p, len(b), len(o), len(want[p]))
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != modes[p] {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), modes[p])
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".kmodsig-") {
			temps++
		}
		return nil
	})
	return converted, temps
}

// TestConvertKillResume kills `kmodsig convert --in-place` with SIGKILL at several points of a
// 200-module batch, checks after each kill that every file is either the original or the
// complete conversion, and finally lets --resume finish: every module converted and verified,
// no temporary file of the killed runs left.
func TestConvertKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs a 200-module batch several times")
	}
	cli := buildCLI(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	const n = 200
	orig, want, modes := killTree(t, tree, n)
	key := filepath.Join(testdata, "keys", "rsa2048.pem")
	args := []string{"convert", "--to", "pkcs7", "--key", key, "--in-place", "--resume", "-j", "2", tree}

	before := 0
	for _, d := range []time.Duration{30, 100, 250, 450, 700} {
		d *= time.Millisecond
		cmd := exec.Command(cli, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		killed := cmd.Process.Signal(syscall.SIGKILL) == nil
		err := cmd.Wait()
		conv, temps := treeState(t, tree, orig, want, modes)
		state := "finished first"
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); killed && ok && ws.Signaled() {
			state = "killed"
		} else if err != nil {
			t.Fatalf("convert: %v\n%s", err, stderr.Bytes())
		}
		t.Logf("SIGKILL after %v: %s; %d/%d converted (+%d), %d temporary files left", d, state, conv, n, conv-before, temps)
		if conv < before {
			t.Fatalf("converted count went down: %d → %d", before, conv)
		}
		before = conv
		if conv == n {
			break
		}
	}
	cmd := exec.Command(cli, append(args, "--report", filepath.Join(dir, "report.json"))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("final --resume: %v\n%s", err, out)
	}
	t.Logf("final run: %s", strings.TrimSpace(string(out)))
	conv, temps := treeState(t, tree, orig, want, modes)
	if conv != n {
		t.Fatalf("%d of %d converted after the final --resume", conv, n)
	}
	if temps != 0 {
		t.Errorf("%d temporary files left after the final --resume", temps)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d converted, %d skipped", n-before, before)) {
		t.Errorf("final run did not skip exactly the %d modules converted before: %s", before, out)
	}
	// The unsigned plain hello.ko copies (mod000, mod042, ...) are byte-identical to what
	// sign-file writes for them.
	if _, err := os.Stat(peers.SignFile); err == nil {
		ref := filepath.Join(dir, "sign-file.ko")
		mustPeer(t, peers.SignFile, "sha256", key, filepath.Join(testdata, "keys", "rsa2048.der"),
			filepath.Join(testdata, "modules", "hello.ko"), ref)
		for _, i := range []int{0, 36, 72, 108, 144, 180} { // i%6 == 0, i%3 != 1, i%4 < 2
			p := filepath.Join(tree, fmt.Sprintf("d%d", i%7), fmt.Sprintf("mod%03d.ko", i))
			if !bytes.Equal(readFile(t, p), readFile(t, ref)) {
				t.Errorf("%s differs from sign-file's output", p)
			}
		}
	} else if peers.Required() {
		t.Fatalf("sign-file missing (linux-kbuild-6.1)")
	}
	// Every module verifies with kmodsig (the bytes are the expected ones, so this also
	// holds for the peers the matrix test runs).
	k := loadKey(t, "rsa2048.pem")
	for p := range orig {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if v := Verify(f.Module, SelfRing(k), formats.Policy{}, ""); v.Outcome != formats.OK {
			t.Errorf("%s: %s", p, v.Outcome)
		}
		f.Close()
	}
}

// TestConvertInterrupt sends SIGINT to `kmodsig convert --in-place` in the middle of a batch:
// it says so, converts no new file, finishes the files in flight and makes them durable, and
// exits 1 with the rest not started; every module is its original or its complete
// conversion, with no temporary file left. Delays are tried until one run is interrupted
// before it finishes; the test fails if none is.
func TestConvertInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs 200-module batches")
	}
	cli := buildCLI(t)
	key := filepath.Join(testdata, "keys", "rsa2048.pem")
	const n = 200
	for _, d := range []time.Duration{20, 40, 80, 160} {
		d *= time.Millisecond
		tree := filepath.Join(t.TempDir(), "tree")
		orig, want, modes := killTree(t, tree, n)
		cmd := exec.Command(cli, "convert", "--to", "pkcs7", "--key", key, "--in-place", "-j", "2", tree)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		conv, temps := treeState(t, tree, orig, want, modes)
		if temps != 0 {
			t.Errorf("SIGINT after %v: %d temporary files left", d, temps)
		}
		if err == nil {
			t.Logf("SIGINT after %v: the batch had finished (%d/%d converted)", d, conv, n)
			continue
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && conv == 0 {
			// The signal came before convert had set up its handler (the process was still
			// starting: loading the key, walking the tree), so it took the default action;
			// nothing had been written. A loaded machine starts slower than 20 ms.
			t.Logf("SIGINT after %v: arrived before the handler, the process stopped with nothing written", d)
			continue
		}
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Fatalf("SIGINT after %v: %v (want exit status 1)\n%s", d, err, stderr.Bytes())
		}
		out := stderr.String()
		if !strings.Contains(out, "interrupt signal received: converting no new file, finishing the files in flight") ||
			!strings.Contains(out, fmt.Sprintf("%d converted, 0 skipped, 0 dry-run, 0 failed of %d", conv, n)) {
			t.Errorf("SIGINT after %v: stderr does not say what happened:\n%s", d, out)
		}
		t.Logf("SIGINT after %v: %d/%d converted, the rest not started", d, conv, n)
		if conv > 0 && conv < n {
			return
		}
	}
	t.Fatal("no run was interrupted in the middle of its batch")
}

// TestConvertInterruptTwice sends `kmodsig convert --in-place` a SIGINT and, once it has said
// that it finishes the files in flight, a second one: the second stops it at once (killed by
// the signal, as with the default action), every module is still either the original or the
// complete conversion, and --resume converts the rest and removes what temporary files the
// stop left.
func TestConvertInterruptTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs 600-module batches")
	}
	cli := buildCLI(t)
	key := filepath.Join(testdata, "keys", "rsa2048.pem")
	const n = 600
	for try := 0; try < 4; try++ {
		tree := filepath.Join(t.TempDir(), "tree")
		orig, want, modes := killTree(t, tree, n)
		cmd := exec.Command(cli, "convert", "--to", "pkcs7", "--key", key, "--in-place", "-j", "2", tree)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The first signal goes once the batch is writing (a temporary file in the tree), so
		// that convert's handler is surely set up: before it, SIGINT takes its default
		// action, which a loaded machine's slow start made likely at a fixed 20 ms.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if temps, _ := filepath.Glob(filepath.Join(tree, "*", ".*.kmodsig-*")); len(temps) > 0 {
				break
			}
			if temps, _ := filepath.Glob(filepath.Join(tree, ".*.kmodsig-*")); len(temps) > 0 {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGINT)
		// Read stderr until the first signal is acknowledged (the signals are back to their
		// default by then), then send the second.
		var out bytes.Buffer
		buf := make([]byte, 4096)
		for !strings.Contains(out.String(), "(again to stop at once)") {
			k, err := stderr.Read(buf)
			out.Write(buf[:k])
			if err != nil {
				break
			}
		}
		acked := strings.Contains(out.String(), "(again to stop at once)")
		if acked {
			cmd.Process.Signal(syscall.SIGINT)
		}
		rest, _ := io.ReadAll(stderr)
		out.Write(rest)
		err = cmd.Wait()
		converted, _ := treeState(t, tree, orig, want, modes)
		ee, _ := err.(*exec.ExitError)
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !acked || ee == nil || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Logf("try %d: not stopped by the second signal (%v, %d/%d converted); again\n%s", try, err, converted, n, out.Bytes())
			continue
		}
		if strings.Contains(out.String(), "converted, 0 skipped") {
			t.Errorf("the second SIGINT let the batch finish and print its summary:\n%s", out.Bytes())
		}
		t.Logf("stopped by the second SIGINT with %d/%d converted", converted, n)
		res, err := exec.Command(cli, "convert", "--to", "pkcs7", "--key", key, "--in-place", "--resume", "-j", "2", tree).CombinedOutput()
		if err != nil {
			t.Fatalf("--resume: %v\n%s", err, res)
		}
		converted, temps := treeState(t, tree, orig, want, modes)
		if converted != n || temps != 0 {
			t.Fatalf("after --resume: %d/%d converted, %d temporary files", converted, n, temps)
		}
		return
	}
	t.Fatal("no run was stopped by the second signal")
}
