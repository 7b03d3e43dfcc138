package conv

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"golang.org/x/sync/semaphore"
)

// Options configure a batch conversion.
type Options struct {
	To   string // target format id
	From string // if set, every source must be in this format ("none": unsigned)
	Key  *keys.Material
	Sign formats.SignOptions
	// SourceRing, when set, verifies each source signature before converting (--verify-source);
	// a source that does not verify is not converted.
	SourceRing *keys.Ring
	OutDir     string // mirror the input tree here
	Output     string // single input: write here
	InPlace    bool
	Jobs       int // workers; <= 0 means runtime.NumCPU()
	DryRun     bool
	// Resume skips an input whose output is already what this run would write: in the target
	// format, verifying with Key, over the input's module as it is now (unsigned, byte for
	// byte), and signed as this run signs (upToDate). It also removes the temporary files
	// an interrupted run left beside the outputs.
	Resume bool
	// FsyncEach makes each file durable with its own fsync, and the renames with a directory
	// fsync, instead of one syncfs per group of files and one at the end (Linux; elsewhere a
	// batch always does this). It is slower, but a batch then never waits for other
	// programs' writes to the same filesystem, which syncfs flushes too.
	FsyncEach bool
	// OnDone is called after each file (from worker goroutines, serialised).
	OnDone func(FileResult)

	ref *resumeRef // set by Convert when Resume
}

// Outcomes of one file in a batch.
const (
	Converted  = "converted"
	Skipped    = "skipped"     // --resume: already converted and verified
	WouldWrite = "dry-run"     // --dry-run: everything but the write
	Failed     = "failed"      // see Error
	NotStarted = "not-started" // the batch was interrupted first
)

// FileResult is one file of a batch report (stable JSON names).
type FileResult struct {
	Path         string `json:"path"`
	PathBytes    []byte `json:"path_bytes,omitempty"` // RawPath(Path)
	Output       string `json:"output,omitempty"`
	OutputBytes  []byte `json:"output_bytes,omitempty"` // RawPath(Output)
	SourceFormat string `json:"source_format"`
	SourceSigner string `json:"source_signer,omitempty"`
	SourceKeyID  string `json:"source_key_id,omitempty"`
	Target       string `json:"target"`
	TargetKeyID  string `json:"target_key_id,omitempty"`
	Outcome      string `json:"outcome"`
	Error        string `json:"error,omitempty"`
	// Warning is set for a converted file that had other names (HardLinkWarning).
	Warning string `json:"warning,omitempty"`
}

// HardLinkWarning says what became of the other names of a file with links names that was
// replaced: they keep the module as it was, since the replacement is a new file (renamed
// into place, as `sed -i` and sign-file do; writing into the old file could leave it half
// written).
func HardLinkWarning(links uint64) string {
	if links == 2 {
		return "had 2 hard links: the other name keeps the module as it was"
	}
	return fmt.Sprintf("had %d hard links: the other %d names keep the module as it was", links, links-1)
}

// Report is the result of a batch: per-file results and counts. It is also the JSON written
// by `convert --report`.
type Report struct {
	Target    string       `json:"target"`
	Files     []FileResult `json:"files"`
	Total     int          `json:"total"`
	Converted int          `json:"converted"`
	Skipped   int          `json:"skipped"`
	DryRun    int          `json:"dry_run"`
	Failed    int          `json:"failed"`
	Seconds   float64      `json:"seconds"`
	// Errors are failures of the batch rather than of one file: a filesystem whose renames
	// could not be made durable at the end (the files are converted, but a crash could
	// still bring back their old contents), or, added by `kmodsig convert`, a directory of
	// its trees that could not be read (conv.WalkError): nothing in it was converted.
	Errors []string `json:"errors,omitempty"`
}

// Err returns a non-nil error when any file failed or was not started.
func (r *Report) Err() error {
	bad := r.Failed
	for _, f := range r.Files {
		if f.Outcome == NotStarted {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d files not converted", bad, r.Total)
	}
	if len(r.Errors) > 0 {
		return errors.New(r.Errors[0])
	}
	return nil
}

// Convert re-signs every input in format o.To. Every file is converted independently: one
// failure does not stop the others. Each result is verified by kmodsig's verifier before it
// is written, and written atomically, so an interrupted batch leaves every module either
// untouched or completely converted; re-running with Resume skips what is done.
// Cancelling ctx stops dispatching new files; files in flight complete.
func Convert(ctx context.Context, inputs []Input, o Options) *Report {
	start := time.Now()
	rep := &Report{Target: o.To, Total: len(inputs), Files: make([]FileResult, len(inputs))}
	if o.Resume {
		o.ref = &resumeRef{}
	}
	jobs := Workers(o.Jobs)
	var mu sync.Mutex
	done := func(i int, r FileResult) {
		r.PathBytes, r.OutputBytes = RawPath(r.Path), RawPath(r.Output)
		mu.Lock()
		defer mu.Unlock()
		rep.Files[i] = r
		if o.OnDone != nil {
			o.OnDone(r)
		}
	}
	for i, in := range inputs {
		rep.Files[i] = FileResult{Path: in.Path, PathBytes: RawPath(in.Path), Target: o.To, Outcome: NotStarted}
	}
	shared := sharedOutputs(inputs, o)
	if o.Output != "" {
		// -o names one file: written through a link to it, refused when a directory.
		dest, err := Destination(o.Output)
		if err != nil {
			shared = make([]error, len(inputs))
			for i := range shared {
				shared[i] = err
			}
		}
		o.Output = dest
	}
	for i, err := range shared {
		if err != nil {
			done(i, FileResult{Path: inputs[i].Path, Output: OutputPath(inputs[i], o), Target: o.To,
				Outcome: Failed, Error: err.Error()})
		}
	}
	// Signing is CPU-bound and runs on `jobs` workers. Memory is bounded by bytes, not by
	// count: a module holds its weight (its size) of a budget as large as the largest module
	// (at least MinBatchBudget) from before it is read until its temporary file is written, so
	// the largest module is converted alone and small ones many at a time.
	//
	// Durability is a group commit: each finished module's complete temporary file is staged,
	// and a committer makes every file staged so far durable at once (syncFS) and only then
	// renames them into place, so a crash leaves each module either as it was or completely
	// converted. While one group is being flushed the next accumulates. The renames are made
	// durable once, at the end (one syncFS per filesystem, else an fsync per output
	// directory): a rename lost in a crash leaves the complete old file.
	//
	// Nothing is handed from goroutine to goroutine per module: workers take the next input
	// from a counter, read ahead for themselves, write their own temporary files (staging
	// does not wait for the disk) and add them to the committer's group, which wakes only to
	// open and to close a group. A hand-off wakes a goroutine, and while the worker is in a
	// long cgo call (libcrypto signing) the runtime takes its processor and wakes a thread to
	// run it. Without the four hand-offs a module had (dispatcher, read-ahead, writer,
	// committer), a 500-module RSA-4096 batch makes a quarter fewer futex calls and 7% fewer
	// context switches; its time did not change measurably on this (noisy) machine.
	//
	// Where each file must be fsynced as it is written (FsyncEach, or no syncFS on this
	// system), writing waits for the disk, so it runs on 4*jobs writer goroutines of its own
	// and the signing workers go on meanwhile.
	grouped := groupSync && !o.FsyncEach
	Sizes(inputs)
	budget := int64(MinBatchBudget)
	for _, in := range inputs {
		budget = max(budget, weight(in))
	}
	sem := semaphore.NewWeighted(budget)
	var dirs, made sync.Map
	com := newCommitter(func(g []stagedWrite) { commitGroup(g, &dirs, done, grouped) })
	write := func(pw *pendingWrite) {
		t, err := pw.stage(&made, !grouped)
		if pw.buf != nil {
			putBuf(pw.buf)
		}
		sem.Release(pw.weight)
		if err != nil {
			r := pw.r
			r.Outcome, r.Error = Failed, err.Error()
			done(pw.i, r)
			return
		}
		com.add(stagedWrite{i: pw.i, r: pw.r, t: t, size: int64(len(pw.data))})
	}
	var writes chan *pendingWrite
	var wwg sync.WaitGroup
	if !grouped {
		writes = make(chan *pendingWrite, jobs)
		for range 4 * jobs {
			wwg.Add(1)
			go func() {
				defer wwg.Done()
				for pw := range writes {
					write(pw)
				}
			}()
		}
	}
	process := func(i int) {
		if shared != nil && shared[i] != nil {
			return // failed above
		}
		w := weight(inputs[i])
		if err := sem.Acquire(context.Background(), w); err != nil {
			done(i, FileResult{Path: inputs[i].Path, Target: o.To, Outcome: Failed, Error: err.Error()})
			return
		}
		r, pw := prepareOne(inputs[i], o)
		if pw == nil {
			sem.Release(w)
			done(i, r)
			return
		}
		pw.i, pw.r, pw.weight = i, r, w
		if writes != nil {
			writes <- pw
		} else {
			write(pw)
		}
	}
	// Read-ahead: input i is asked of the kernel (prefetch, in the background) when input
	// i-prefetchAhead is taken, so that converting a tree that is not in the page cache
	// overlaps the disk with the signing instead of stalling a worker on every file; a tree
	// found in the page cache is mostly not asked about (aheadPolicy). A resumed run skips
	// most inputs: it does not read them ahead.
	var ahead aheadPolicy
	prefetchFrom := func(i int) {
		if !o.Resume && i < len(inputs) {
			ahead.offer(inputs[i].Path)
		}
	}
	first := 0
	// The first file runs alone: derived key forms (certificate, OpenPGP key) are created
	// lazily in the key material, and the workers then share them read-only.
	if len(inputs) > 0 && ctx.Err() == nil {
		process(0)
		first = 1
	}
	for i := first; i < first+prefetchAhead; i++ {
		prefetchFrom(i)
	}
	var taken atomic.Int64
	taken.Store(int64(first))
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(taken.Add(1) - 1)
				if i >= len(inputs) {
					return
				}
				prefetchFrom(i + prefetchAhead)
				process(i)
				// Yield between modules (well under a microsecond). A worker that has
				// run for 10 ms without passing through the scheduler looks stuck to the
				// runtime's monitor (sysmon), which then preempts it with a signal or,
				// in a libcrypto call, takes its P away; each take sets the monitor back
				// to waking every 20 µs. Measured with perf stat, alternating on two
				// cores: RSA-2048 on the Debian set made 4,500 nanosleeps instead of
				// 15,000 and 11,000 context switches instead of 29,000, and took 4.0-4.2 s
				// instead of 4.6 s (two pairs); 500 RSA-4096 modules, 6,400-7,400 context
				// switches instead of 14,600-15,800, 2.0-2.2 s instead of 2.2-2.3 s.
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	if writes != nil {
		close(writes)
		wwg.Wait()
	}
	com.close()
	// The renames: one syncFS per filesystem, else an fsync per output directory.
	flushed := map[uint64]bool{}
	dirs.Range(func(d, dev any) bool {
		var err error
		if !grouped {
			err = syncDir(d.(string))
		} else if !flushed[dev.(uint64)] {
			flushed[dev.(uint64)] = true
			if err = syncFS(d.(string)); err != nil {
				err = notDurable(err)
			}
		}
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		return true
	})
	slices.Sort(rep.Errors)
	for _, f := range rep.Files {
		switch f.Outcome {
		case Converted:
			rep.Converted++
		case Skipped:
			rep.Skipped++
		case WouldWrite:
			rep.DryRun++
		case Failed:
			rep.Failed++
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep
}

// ErrSharedOutput is the error of a batch input whose result would go to the same file as
// the result of an earlier input.
var ErrSharedOutput = errors.New("output shared with another input")

// sharedOutputs finds the inputs whose output (OutputPath) is already the output of an
// earlier input, in the batch's order: two directory arguments with the same layout under
// one --out-dir (two kernels' module trees), two files of the same name from different
// directories, or one file given twice. Two workers would write that output at once and
// one result would silently replace the other, while the report counted both as converted;
// so the later input fails instead (ErrSharedOutput), naming the earlier one, and the
// earlier one is converted. It returns nil when no output is shared. Paths are compared
// cleaned, as strings: two names of one file through a symbolic or a hard link are not
// found.
func sharedOutputs(inputs []Input, o Options) []error {
	var errs []error
	first := make(map[string]int, len(inputs))
	for i, in := range inputs {
		out := filepath.Clean(OutputPath(in, o))
		j, ok := first[out]
		if !ok {
			first[out] = i
			continue
		}
		if errs == nil {
			errs = make([]error, len(inputs))
		}
		if filepath.Clean(in.Path) == filepath.Clean(inputs[j].Path) {
			errs[i] = fmt.Errorf("%w: %s is given more than once", ErrSharedOutput, in.Path)
		} else {
			errs[i] = fmt.Errorf("%w: %s is also the output of %s", ErrSharedOutput, out, inputs[j].Path)
		}
	}
	return errs
}

// MaxWorkers bounds Workers. Each worker in a libcrypto call or a system call holds a thread,
// and the Go runtime stops the process at 10,000 threads: `-j 100000` did. More workers than
// this gain nothing even on a slow network filesystem, where a few dozen keep the reads in
// flight.
const MaxWorkers = 256

// RawPath returns the bytes of a file name that is not valid UTF-8, and nil for one that is.
// Linux file names are any bytes but / and NUL; encoding/json writes a string's invalid bytes
// as U+FFFD, so the JSON this package and the command line write carry the name's bytes
// beside it (path_bytes, base64) when, and only when, the string alone would lose them.
func RawPath(p string) []byte {
	if utf8.ValidString(p) {
		return nil
	}
	return []byte(p)
}

// Workers is how many workers a batch runs for a jobs setting (Options.Jobs,
// WalkOptions.Jobs, the CLI's -j): jobs, at most MaxWorkers, or one per CPU when jobs <= 0.
func Workers(jobs int) int {
	if jobs <= 0 {
		return runtime.NumCPU()
	}
	return min(jobs, MaxWorkers)
}

// signatureRoom is the spare capacity File.Bytes reads a module with, so that an appended
// signature goes in without copying the module: sign-file's CMS with RSA-4096 and its trailer
// take about 600 bytes. A larger signature is appended by copying, as without room.
const signatureRoom = 4 << 10

// prefetchAhead is how many inputs the read-ahead runs ahead of the workers.
const prefetchAhead = 32

// MinBatchBudget is the least number of module bytes a batch keeps in flight (see Convert).
const MinBatchBudget = 8 << 20

// weight estimates the memory a module needs in flight: its size, or five times that for a
// compressed file (kbuild's xz and zstd shrink modules about four to five times).
func weight(in Input) int64 {
	if IsModuleName(in.Path) && !strings.HasSuffix(in.Path, ".ko") {
		return max(1, 5*in.Size)
	}
	return max(1, in.Size)
}

// OutputPath returns where in's result goes under o.
func OutputPath(in Input, o Options) string {
	switch {
	case o.InPlace && in.Real != "":
		return in.Real
	case o.InPlace:
		return in.Path
	case o.Output != "":
		return o.Output
	default:
		return filepath.Join(o.OutDir, in.Rel)
	}
}

// pendingWrite is a converted module waiting to be written.
type pendingWrite struct {
	i      int
	weight int64
	r      FileResult
	path   string
	data   []byte
	buf    []byte // the module buffer to give back to the pool once data is written, or nil
	mode   os.FileMode
	mtime  time.Time
}

// stage creates the output directory (once per directory: made) and writes the temporary
// file, fsynced if fsync is set (when the batch does not commit groups with syncFS).
func (pw *pendingWrite) stage(made *sync.Map, fsync bool) (tempFile, error) {
	if dir := filepath.Dir(pw.path); dir != "" {
		if _, ok := made.Load(dir); !ok {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return tempFile{}, err
			}
			made.Store(dir, true)
		}
	}
	return stageTemp(pw.path, pw.data, pw.mode, pw.mtime, fsync)
}

// prepareOne does everything but the write: the result, and the write to do (nil when the
// file is done: failed, skipped or dry-run).
func prepareOne(in Input, o Options) (FileResult, *pendingWrite) {
	r := FileResult{Path: in.Path, Target: o.To, Output: OutputPath(in, o)}
	// buf is the input's bytes when they are a pooled buffer (an uncompressed module): given
	// back on every way out but a write, which gives it back when done.
	var buf []byte
	fail := func(err error) (FileResult, *pendingWrite) {
		if buf != nil {
			putBuf(buf)
		}
		r.Outcome, r.Error = Failed, err.Error()
		return r, nil
	}
	d, err := formats.Lookup(o.To)
	if err != nil {
		return fail(err)
	}
	if o.Resume {
		// A run killed between creating and renaming its temporary file leaves it behind
		// (the module itself is intact); resuming means that run is gone, so remove them.
		removeStaleTemps(r.Output)
	}
	f, err := Open(in.Path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	data, err := f.Bytes()
	if err != nil {
		return fail(err)
	}
	// An uncompressed module's bytes are ours alone (a pooled buffer): the signature may be
	// appended to them without a copy. A compressed one's are also what f.Module reads.
	if f.Compression == None {
		buf = data
	}
	if o.Resume && o.ref != nil {
		// Before the source checks: in place, the input is the output already converted.
		if up, err := upToDate(r.Output, in.Path, data, d, o); err != nil {
			return fail(err)
		} else if up {
			if buf != nil {
				putBuf(buf)
			}
			r.Outcome = Skipped
			return r, nil
		}
	}
	r.SourceFormat = "none"
	if src := formats.Detect(f.Module); src != nil {
		r.SourceFormat = src.ID()
		if sig, err := src.Parse(f.Module); err == nil {
			r.SourceSigner, r.SourceKeyID = sig.Signer, hex.EncodeToString(sig.KeyID)
		}
	}
	if o.From != "" && r.SourceFormat != o.From {
		// "none" is how --from and the report name an unsigned module; the message says it.
		name := func(f string) string {
			if f == "none" {
				return "unsigned"
			}
			return f
		}
		return fail(fmt.Errorf("source is %s, not %s (--from %s)", name(r.SourceFormat), name(o.From), o.From))
	}
	if o.SourceRing != nil {
		v := Verify(f.Module, o.SourceRing, formats.Policy{}, "")
		if v.Outcome != formats.OK {
			return fail(fmt.Errorf("source signature: %s: %s", v.Outcome, v.Reason))
		}
	}
	pw, err := convertBytes(in, o, f, data, &r)
	if err != nil {
		return fail(err)
	}
	if pw == nil { // a dry run
		if buf != nil {
			putBuf(buf)
		}
		return r, nil
	}
	pw.buf = buf
	return r, pw
}

// convertBytes signs the module's bytes and compresses the result as the input was: the
// write to do, or nil for a dry run.
func convertBytes(in Input, o Options, f *File, data []byte, r *FileResult) (*pendingWrite, error) {
	so := o.Sign
	so.InPlace = f.Compression == None
	res, err := sign(in.Path, data, o.To, o.Key, so)
	if err != nil {
		return nil, err
	}
	r.TargetKeyID = res.Verdict.KeyID
	if o.DryRun {
		r.Outcome = WouldWrite
		return nil, nil
	}
	c := f.Compression
	if o.Output != "" {
		c = OutputCompression(o.Output, c)
	}
	out, err := Compress(res.Signed, c)
	if err != nil {
		return nil, err
	}
	return &pendingWrite{path: r.Output, data: out, mode: f.Mode, mtime: f.ModTime}, nil
}

// removeStaleTemps removes the temporary files kmodsig writes for path (".NAME.kmodsig-PID-*"
// beside it) that an interrupted run left: those of processes that no longer run, and those
// without a process id (older versions). A temporary file of a kmodsig still running on the
// same tree is left to it.
func removeStaleTemps(path string) {
	prefix := "." + filepath.Base(path) + ".kmodsig-"
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(prefix)+"*"))
	for _, p := range stale {
		pid, _, tagged := strings.Cut(strings.TrimPrefix(filepath.Base(p), prefix), "-")
		if n, err := strconv.Atoi(pid); tagged && err == nil && n != os.Getpid() && processAlive(n) {
			continue
		}
		if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
			os.Remove(p)
		}
	}
}

// globEscape quotes the filepath.Match metacharacters of a file name.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// resumeRef is what --resume compares an existing output's signature with: the signature
// this run writes, as the driver's Parse reads it back, made once per batch from the first
// input that has an output (and signs). nil until one has signed.
type resumeRef struct {
	mu  sync.Mutex
	sig *formats.Signature
}

// get returns the reference signature, signing unsigned (an input's module) in d's format
// for it if there is none yet.
func (r *resumeRef) get(name string, unsigned []byte, d formats.Driver, o Options) *formats.Signature {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sig == nil {
		so := o.Sign
		so.InPlace, so.Warn = false, nil
		if res, err := sign(name, unsigned, d.ID(), o.Key, so); err == nil {
			r.sig, _ = d.Parse(formats.NewModule(name, res.Signed))
		}
	}
	return r.sig
}

// upToDate reports whether the output at path is what this run would write for the input
// in: it is in d's format and verifies with o.Key on the signing's own kernel model, its
// module without the signature is in's, byte for byte (an input changed since the output
// was made is converted again), and its signature was made as this run makes them: the
// same key, signer, hash, variant, key identification (pkcs7 --keyid) and, where the format
// records one, time (resumeRef; a run resumed with other options converts again). An output
// that is not there, or not readable, is not up to date; the error is for an input that
// cannot be read. in is the input's module bytes (name its path), read once for this and the
// conversion.
func upToDate(path, name string, in []byte, d formats.Driver, o Options) (bool, error) {
	out, err := Open(path)
	if err != nil {
		return false, nil
	}
	defer out.Close()
	if got := formats.Detect(out.Module); got == nil || got.ID() != d.ID() {
		return false, nil
	}
	if d.Verify(out.Module, SelfRing(o.Key), formats.Policy{Kernel: o.Sign.Kernel}).Outcome != formats.OK {
		return false, nil
	}
	have, err := d.Parse(out.Module)
	if err != nil {
		return false, nil
	}
	outUnsigned, _, err := stripAll(out.Module, nil)
	if err != nil {
		return false, nil
	}
	inUnsigned, _, err := stripAll(formats.NewModule(name, in), in)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(outUnsigned, inUnsigned) {
		return false, nil
	}
	want := o.ref.get(name, inUnsigned, d, o)
	return want != nil && sameSigning(have, want), nil
}

// sameSigning reports whether two signatures of one format were made alike: what Parse
// reads of the key, signer, hash, variant and time, not the value or the layout.
func sameSigning(a, b *formats.Signature) bool {
	return a.Format == b.Format && a.Variant == b.Variant && a.SigID == b.SigID &&
		a.Signer == b.Signer && bytes.Equal(a.KeyID, b.KeyID) && a.HashAlgo == b.HashAlgo &&
		a.PublicKey == b.PublicKey && a.Time.Equal(b.Time)
}
