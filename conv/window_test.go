package conv

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// TestWindowedReader compares every read through the windows with the same read of the bytes,
// for files smaller than, equal to and larger than the windows, across all window edges.
func TestWindowedReader(t *testing.T) {
	for _, size := range []int64{0, 1, HeadWindow, SmallModule, SmallModule + 1, 3 * SmallModule, 5<<20 + 7} {
		data := make([]byte, size)
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		ref := bytes.NewReader(data)
		w, err := newWindowedReader(ref, size)
		if err != nil {
			t.Fatal(err)
		}
		edges := []int64{0, 1, HeadWindow - 1, HeadWindow, HeadWindow + 1, size - TailWindow - 1, size - TailWindow,
			size - TailWindow + 1, size - 40, size - 1, size, size + 1}
		for _, off := range edges {
			for _, n := range []int64{0, 1, 12, 40, TailWindow, TailWindow + 5} {
				if off < 0 {
					continue
				}
				a, b := make([]byte, n), make([]byte, n)
				na, ea := w.ReadAt(a, off)
				nb, eb := ref.ReadAt(b, off)
				if na != nb || !bytes.Equal(a[:na], b[:nb]) || (ea == nil) != (eb == nil) {
					t.Fatalf("size %d ReadAt(%d bytes, %d) = %d, %v; want %d, %v", size, n, off, na, ea, nb, eb)
				}
			}
		}
	}
}

// TestOpenReleasesWindows: after Close a module's windows go back to the pool and a read
// fails instead of returning bytes of whichever module reuses them; reads before Close go
// through the file descriptor Open holds (the middle of a large file is in no window).
func TestOpenReleasesWindows(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 3*SmallModule)
	for i := range big {
		big[i] = byte(i * 7)
	}
	p := filepath.Join(dir, "big.ko")
	writeFile(t, p, big)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	mid := make([]byte, 100)
	if _, err := f.Module.R.ReadAt(mid, HeadWindow+10); err != nil || !bytes.Equal(mid, big[HeadWindow+10:HeadWindow+110]) {
		t.Fatalf("read between the windows: %v", err)
	}
	m := f.Module
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if _, err := m.R.ReadAt(mid, 0); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("read after Close: %v, want %v", err, fs.ErrClosed)
	}
	if _, err := Open(filepath.Join(dir, "missing.ko")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(missing) = %v", err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("Open(dir) = %v", err)
	}
}

// TestWalkEach: the overlapped walk finds what Walk finds, in Walk's order (argument order,
// then path order, where "a-b/x" sorts before "a/x" although the walk visits a/ first), and
// gives each input its own result; a missing argument fails before any work.
func TestWalkEach(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/x.ko", "a-b/x.ko", "a/b/y.ko.xz", "z.ko", "skip.txt", "a/.x.ko.kmodsig-1"} {
		writeFile(t, filepath.Join(dir, p), []byte(p))
	}
	file := filepath.Join(dir, "z.ko")
	args := []string{file, dir}
	want, err := Walk(args)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	got, res, err := WalkEach(args, WalkOptions{Jobs: 3}, func(in Input) string { calls.Add(1); return in.Rel })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WalkEach inputs\n%v\nwant\n%v", got, want)
	}
	if len(want) != 5 || want[1].Rel != "a-b/x.ko" || int(calls.Load()) != len(want) {
		t.Fatalf("Walk = %v (%d calls)", want, calls.Load())
	}
	for i := range got {
		if res[i] != got[i].Rel {
			t.Errorf("result %d = %q for %s", i, res[i], got[i].Path)
		}
	}
	calls.Store(0)
	if _, _, err := WalkEach([]string{dir, filepath.Join(dir, "missing")}, WalkOptions{Jobs: 2}, func(in Input) int { calls.Add(1); return 0 }); !errors.Is(err, fs.ErrNotExist) || calls.Load() != 0 {
		t.Fatalf("missing argument: %v after %d calls", err, calls.Load())
	}
}

// TestWalkEachReadAhead: with ReadAhead every input not in the page cache is offered for
// read-ahead once, before fn runs on it, and only some of a tree that is cached; without it
// (inspect) none is.
func TestWalkEachReadAhead(t *testing.T) {
	dir := t.TempDir()
	for i := range 300 {
		writeFile(t, filepath.Join(dir, "d"+strconv.Itoa(i%7), "m"+strconv.Itoa(i)+".ko"), []byte("x"))
	}
	ahead := recordReadAhead(t)
	ahead.reset(true)
	if _, _, err := WalkEach([]string{dir}, WalkOptions{Jobs: 2, ReadAhead: true}, func(in Input) int { return 0 }); err != nil {
		t.Fatal(err)
	}
	if n := ahead.len(); n < warmRun || n > warmRun+300/warmSample+8 {
		t.Fatalf("cached tree: %d of 300 files offered, want about %d", n, warmRun+(300-warmRun)/warmSample)
	}
	for _, on := range []bool{false, true} {
		ahead.reset(false)
		var late atomic.Int32
		inputs, _, err := WalkEach([]string{dir}, WalkOptions{Jobs: 2, ReadAhead: on}, func(in Input) int {
			if on && ahead.count(in.Path) == 0 {
				late.Add(1)
			}
			return 0
		})
		if err != nil {
			t.Fatal(err)
		}
		if !on {
			if ahead.len() != 0 {
				t.Fatalf("ReadAhead off: %d files read ahead", ahead.len())
			}
			continue
		}
		if ahead.len() != len(inputs) || late.Load() != 0 {
			t.Fatalf("ReadAhead: %d of %d files read ahead, %d reached a worker first", ahead.len(), len(inputs), late.Load())
		}
		for _, in := range inputs {
			if n := ahead.count(in.Path); n != 1 {
				t.Errorf("%s read ahead %d times", in.Path, n)
			}
		}
	}
}

// TestRemoveStaleTemps: --resume removes the temporary files of runs that are gone (a dead
// process id, or none: older versions) and leaves those of a kmodsig still running.
func TestRemoveStaleTemps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process liveness is checked on Linux")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "m.ko")
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	dead := cmd.Process.Pid
	names := map[string]bool{ // name -> should survive
		".m.ko.kmodsig-" + strconv.Itoa(os.Getppid()) + "-123": true, // a live process
		".m.ko.kmodsig-" + strconv.Itoa(dead) + "-456":         false,
		".m.ko.kmodsig-789":     false, // no process id
		".other.ko.kmodsig-1-1": true,  // another module's
	}
	for n := range names {
		writeFile(t, filepath.Join(dir, n), []byte("partial"))
	}
	removeStaleTemps(out)
	for n, keep := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists %v, want %v", n, exists, keep)
		}
	}
}

// TestSignInPlace: the batch's in-place signing (the trailer appended into the read buffer's
// spare capacity) gives the bytes Sign gives, for pkcs7 and x509, for an unsigned module and
// for one whose old pkcs7 trailer it overwrites; it does reuse the buffer, and the public Sign
// never writes into its argument's spare capacity.
func TestSignInPlace(t *testing.T) {
	k := loadKey(t, "rsa2048.pem")
	old := loadKey(t, "untrusted-rsa2048.pem")
	hello := helloKO(t)
	resigned, err := Sign("m", hello, "pkcs7", old, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pkcs7", "x509"} {
		for name, module := range map[string][]byte{"unsigned": hello, "signed by another key": resigned.Signed} {
			name = id + ", " + name
			want, err := Sign("m", module, id, k, formats.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			roomy := make([]byte, len(module), len(module)+signatureRoom)
			copy(roomy, module)
			snapshot := append([]byte(nil), roomy...)
			got, err := Sign("m", roomy, id, k, formats.SignOptions{InPlace: true})
			if err != nil {
				t.Fatal(err)
			}
			spare := roomy[len(roomy):cap(roomy)]
			if !bytes.Equal(got.Signed, want.Signed) || &got.Signed[0] == &roomy[0] || !bytes.Equal(roomy, snapshot) ||
				!bytes.Equal(spare, make([]byte, len(spare))) {
				t.Fatalf("%s: public Sign with InPlace set wrote into its argument or changed the result", name)
			}
			got, err = sign("m", roomy, id, k, formats.SignOptions{InPlace: true})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Signed, want.Signed) {
				t.Fatalf("%s: in-place result differs from Sign's", name)
			}
			if &got.Signed[0] != &roomy[0] {
				t.Errorf("%s: in-place signing copied the module", name)
			}
		}
	}
}
