package conv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// ModuleSuffixes are the file names a directory walk picks up.
var ModuleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// IsModuleName reports whether name ends with one of ModuleSuffixes.
func IsModuleName(name string) bool {
	for _, s := range ModuleSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Input is one file found by Walk, with the root it was found under (for mirroring trees).
type Input struct {
	Path string
	Root string // the directory argument it came from; "" for a file argument
	Rel  string // path relative to Root
	Size int64  // file size; set for file arguments (a directory walk leaves it 0: see Sizes)
	// Real is, for a file argument that is a symbolic link, the file it names: what an
	// in-place conversion replaces, keeping the link (see Destination). Empty otherwise:
	// a walk does not follow links inside trees.
	Real string
}

// Sizes fills in the Size of every input that has none (one stat each). Convert needs the
// sizes to bound memory; inspect and verify do not, so Walk does not stat what it finds.
func Sizes(inputs []Input) {
	for i := range inputs {
		if inputs[i].Size == 0 {
			if st, err := os.Stat(inputs[i].Path); err == nil {
				inputs[i].Size = st.Size()
			}
		}
	}
}

// Walk expands paths: files are taken as they are, whatever their name; directories are
// walked recursively for module files (IsModuleName), in lexical order, through a directory
// argument that is a symbolic link but not through links inside it. Temporary files of an
// interrupted kmodsig run (".name.kmodsig-*") are skipped. What cannot be read inside a tree
// is skipped and returned as a *WalkError with the inputs found.
func Walk(paths []string) ([]Input, error) {
	var out []walked
	err := walk(paths, func(w walked) { out = append(out, w) })
	if err != nil && !isWalkError(err) {
		return nil, err
	}
	sortWalked(out)
	inputs := make([]Input, len(out))
	for i, w := range out {
		inputs[i] = w.in
	}
	return inputs, err
}

func isWalkError(err error) bool {
	var we *WalkError
	return errors.As(err, &we)
}

// WalkOptions configure WalkEach.
type WalkOptions struct {
	Jobs int // goroutines running fn; <= 0: one per CPU
	// ReadAhead makes each worker, as it takes a batch of inputs, ask the kernel to start
	// reading those not in the page cache in the background (Linux: posix_fadvise WILLNEED,
	// as aheadPolicy offers them; elsewhere nothing), so that on a tree not in the page
	// cache the disk reads a batch at once instead of one file after another. Set it for
	// work that reads whole files (verify of the Debian set from disk: 2.9-3.8 s without it,
	// 1.3-1.5 s with); not for work that reads a part of each file (inspect reads the
	// tails), which it would make read more.
	ReadAhead bool
}

// WalkEach walks paths as Walk does and runs fn on o.Jobs goroutines on each input as soon as
// the walk finds it, so that walking a large tree (hundreds of directories) is not a serial
// step before the work. Inputs and results are returned in Walk's order. A walk error is
// returned after the inputs already found are done: a *WalkError (what could not be read
// inside the trees) with the inputs and results of the rest, any other error alone.
func WalkEach[T any](paths []string, o WalkOptions, fn func(Input) T) ([]Input, []T, error) {
	jobs := Workers(o.Jobs)
	// Fail on a missing argument before doing any work, as Walk does.
	for _, p := range paths {
		if _, err := statArg(p); err != nil {
			return nil, nil, err
		}
	}
	type done struct {
		w walked
		r T
	}
	// Inputs go to the workers in batches: a channel operation per file made goroutine
	// hand-offs (futex wake-ups, context switches) a large part of inspecting a tree.
	const batch = 32
	found := make(chan []walked, 64)
	var (
		mu  sync.Mutex
		out []done
		wg  sync.WaitGroup
	)
	var ahead aheadPolicy
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ws := range found {
				if o.ReadAhead {
					for _, w := range ws {
						ahead.offer(w.in.Path)
					}
				}
				rs := make([]done, len(ws))
				for i, w := range ws {
					rs[i] = done{w, fn(w.in)}
					// Yield between files, as Convert's workers do between modules (see
					// there): verifying the Debian set made 400-800 nanosleeps instead of
					// 1,600-3,000 and 2,200-2,600 context switches instead of 3,400-6,200,
					// and was as fast or faster in four pairs; inspect was not slower.
					runtime.Gosched()
				}
				mu.Lock()
				out = append(out, rs...)
				mu.Unlock()
			}
		}()
	}
	var pending []walked
	err := walk(paths, func(w walked) {
		pending = append(pending, w)
		if len(pending) == batch {
			found <- pending
			pending = nil
		}
	})
	if len(pending) > 0 {
		found <- pending
	}
	close(found)
	wg.Wait()
	if err != nil && !isWalkError(err) {
		return nil, nil, err
	}
	sort.Slice(out, func(i, j int) bool { return walkedLess(out[i].w, out[j].w) })
	inputs, results := make([]Input, len(out)), make([]T, len(out))
	for i, d := range out {
		inputs[i], results[i] = d.w.in, d.r
	}
	return inputs, results, err
}

// walked is an input with the index of the argument it came from (Walk's order is argument
// order, then path order within a directory argument).
type walked struct {
	arg int
	in  Input
}

func walkedLess(a, b walked) bool {
	if a.arg != b.arg {
		return a.arg < b.arg
	}
	return a.in.Path < b.in.Path
}

func sortWalked(ws []walked) { sort.Slice(ws, func(i, j int) bool { return walkedLess(ws[i], ws[j]) }) }

// WalkError lists what a walk could not read inside the trees it was given (a directory
// without read permission, an entry that vanished). Walk and WalkEach return it together
// with every input they did find: the rest of each tree is walked, as find and grep -r do,
// and the caller reports both. An argument that cannot be read at all is a plain error, with
// no inputs.
type WalkError struct {
	Errs []error
}

func (e *WalkError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *WalkError) Unwrap() []error { return e.Errs }

// statArg is os.Stat of a path argument, its error explained by dangling.
func statArg(p string) (fs.FileInfo, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, dangling(p, err)
	}
	return st, nil
}

// dangling returns err, the error of opening or stat-ing path, or for a symbolic link to
// nothing a *danglingError that says so ("stat x.ko: no such file or directory" reads as if
// x.ko were missing, when it is there).
func dangling(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(path); lerr == nil {
			return &danglingError{path, target}
		}
	}
	return err
}

// danglingError is a symbolic link to nothing (see dangling); it is fs.ErrNotExist.
type danglingError struct{ path, target string }

func (e *danglingError) Error() string {
	return e.path + ": a symbolic link to " + e.target + ", which does not exist"
}

func (e *danglingError) Unwrap() error { return fs.ErrNotExist }

// walk calls emit for every input paths expand to, in the order found. It returns a plain
// error for an argument it cannot stat, and a *WalkError for what it could not read inside
// the trees, after walking the rest.
func walk(paths []string, emit func(walked)) error {
	var unread []error
	for arg, p := range paths {
		st, err := statArg(p)
		if err != nil {
			return err
		}
		lst, err := os.Lstat(p)
		link := err == nil && lst.Mode()&fs.ModeSymlink != 0
		if !st.IsDir() {
			in := Input{Path: p, Rel: filepath.Base(p), Size: st.Size()}
			if link {
				if real, err := filepath.EvalSymlinks(p); err == nil {
					in.Real = real
				}
			}
			emit(walked{arg, in})
			continue
		}
		// A directory argument that is a symbolic link is walked through it, as grep -r
		// does (WalkDir would stop at the link and find nothing); links inside are not
		// followed. A trailing separator makes the walk's Lstat resolve the link, and
		// the paths found still begin with the argument as it was given.
		root := p
		if link {
			root = p + string(filepath.Separator)
		}
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				// Not readable (WalkDir calls again for a directory it cannot list):
				// noted, and the walk goes on with the rest.
				unread = append(unread, err)
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			name := d.Name()
			if strings.HasPrefix(name, ".") && strings.Contains(name, ".kmodsig-") {
				return nil
			}
			if IsModuleName(name) {
				rel, _ := filepath.Rel(p, path)
				emit(walked{arg, Input{Path: path, Root: p, Rel: rel}})
			}
			return nil
		})
	}
	if len(unread) > 0 {
		return &WalkError{Errs: unread}
	}
	return nil
}

// WithoutOutDir returns the inputs that are not inside outDir where outDir lies inside the
// directory argument they were found under, and how many it left out. Converting a tree into
// a directory inside it (convert --out-dir tree/signed tree) would otherwise, run again, take
// the last run's results for inputs and write them under tree/signed/signed, as cp -r refuses
// to copy a directory into itself. An outDir that is the tree itself (the results replace the
// inputs, as --in-place) and file arguments are left alone.
func WithoutOutDir(inputs []Input, outDir string) ([]Input, int) {
	out, err := filepath.Abs(outDir)
	if err != nil {
		return inputs, 0
	}
	sep := string(filepath.Separator)
	inside := map[string]bool{} // per Root: is outDir strictly inside it
	kept := inputs[:0:0]
	for _, in := range inputs {
		if in.Root == "" {
			kept = append(kept, in)
			continue
		}
		in1, ok := inside[in.Root]
		if !ok {
			root, err := filepath.Abs(in.Root)
			in1 = err == nil && strings.HasPrefix(out, strings.TrimSuffix(root, sep)+sep)
			inside[in.Root] = in1
		}
		if in1 {
			if p, err := filepath.Abs(in.Path); err == nil && strings.HasPrefix(p, out+sep) {
				continue
			}
		}
		kept = append(kept, in)
	}
	return kept, len(inputs) - len(kept)
}
