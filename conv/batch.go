package conv

import (
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
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"golang.org/x/sync/semaphore"
)

// Options configure a batch conversion.
type Options struct {
	To   string // target format id
	From string // if set, every source must be in this format
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
	Resume     bool // skip outputs that already are in the target format and verify with Key; remove temporary files an interrupted run left beside them
	// FsyncEach makes each file durable with its own fsync, and the renames with a directory
	// fsync, instead of one syncfs per group of files and one at the end (Linux; elsewhere a
	// batch always does this). It is slower, but a batch then never waits for other
	// programs' writes to the same filesystem, which syncfs flushes too.
	FsyncEach bool
	// OnDone is called after each file (from worker goroutines, serialised).
	OnDone func(FileResult)
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
	Output       string `json:"output,omitempty"`
	SourceFormat string `json:"source_format"`
	SourceSigner string `json:"source_signer,omitempty"`
	SourceKeyID  string `json:"source_key_id,omitempty"`
	Target       string `json:"target"`
	TargetKeyID  string `json:"target_key_id,omitempty"`
	Outcome      string `json:"outcome"`
	Error        string `json:"error,omitempty"`
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
	// could not be made durable at the end. The files are converted, but a crash could
	// still bring back their old contents.
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
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	var mu sync.Mutex
	done := func(i int, r FileResult) {
		mu.Lock()
		defer mu.Unlock()
		rep.Files[i] = r
		if o.OnDone != nil {
			o.OnDone(r)
		}
	}
	for i, in := range inputs {
		rep.Files[i] = FileResult{Path: in.Path, Target: o.To, Outcome: NotStarted}
	}
	// Signing is CPU-bound and runs on `jobs` workers; writing runs on 4*jobs goroutines of
	// its own (with FsyncEach, or where there is no syncfs, each write waits for the disk),
	// and the signing workers go on meanwhile. Memory
	// is bounded by bytes, not by count: a module holds its weight (its size) of a budget as
	// large as the largest module (at least MinBatchBudget) from before it is read until its
	// temporary file is written, so the largest module is converted alone and small ones many
	// at a time.
	//
	// Durability is a group commit: writers stage complete temporary files, and one committer
	// makes every file staged so far durable at once (syncFS; an fsync per file where there is
	// none) and only then renames them into place, so a crash leaves each module either as it
	// was or completely converted. While one group is being flushed the next accumulates.
	// The renames are made durable once, at the end (one syncFS per filesystem, else an fsync
	// per output directory): a rename lost in a crash leaves the complete old file.
	grouped := groupSync && !o.FsyncEach
	Sizes(inputs)
	budget := int64(MinBatchBudget)
	for _, in := range inputs {
		budget = max(budget, weight(in))
	}
	sem := semaphore.NewWeighted(budget)
	var dirs, made sync.Map
	writes := make(chan pendingWrite, jobs)
	staged := make(chan stagedWrite, 2*groupFiles) // writers never wait for a flush
	var wwg, cwg sync.WaitGroup
	for w := 0; w < 4*jobs; w++ {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for pw := range writes {
				t, err := pw.stage(&made, !grouped)
				if pw.buf != nil {
					putBuf(pw.buf)
				}
				sem.Release(pw.weight)
				if err != nil {
					r := pw.r
					r.Outcome, r.Error = Failed, err.Error()
					done(pw.i, r)
					continue
				}
				staged <- stagedWrite{i: pw.i, r: pw.r, t: t, size: int64(len(pw.data))}
			}
		}()
	}
	cwg.Add(1)
	go func() {
		defer cwg.Done()
		for first := range staged {
			group, size := []stagedWrite{first}, first.size
			deadline := time.NewTimer(groupWindow)
		more:
			for len(group) < groupFiles && size < groupBytes {
				select {
				case s, ok := <-staged:
					if !ok {
						break more
					}
					group, size = append(group, s), size+s.size
				case <-deadline.C:
					break more
				}
			}
			deadline.Stop()
			commitGroup(group, &dirs, done, grouped)
		}
	}()
	process := func(i int) {
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
		writes <- *pw
	}
	next := 0
	// The first file runs alone: derived key forms (certificate, OpenPGP key) are created
	// lazily in the key material, and the workers then share them read-only.
	if len(inputs) > 0 && ctx.Err() == nil {
		process(0)
		next = 1
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				process(i)
			}
		}()
	}
	// Read-ahead: a goroutine runs prefetchAhead files ahead of the dispatcher asking the
	// kernel to read each input in the background (prefetch), so that converting a tree that
	// is not in the page cache overlaps the disk with the signing instead of stalling a
	// worker on every file.
	ahead := make(chan int, prefetchAhead)
	stopPrefetch := make(chan struct{})
	go func() {
		defer close(ahead)
		for i := next; i < len(inputs); i++ {
			if !o.Resume { // a resumed run skips most inputs: do not read them
				readAhead(inputs[i].Path)
			}
			select {
			case ahead <- i:
			case <-stopPrefetch:
				return
			}
		}
	}()
dispatch:
	for i := range ahead {
		select {
		case <-ctx.Done():
			break dispatch
		case work <- i:
		}
	}
	close(stopPrefetch)
	close(work)
	wg.Wait()
	close(writes)
	wwg.Wait()
	close(staged)
	cwg.Wait()
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

// stagedWrite is a converted module whose temporary file is complete, waiting for its group
// to be made durable and renamed into place.
type stagedWrite struct {
	i    int
	r    FileResult
	t    tempFile
	size int64
}

// A commit group closes when it has groupFiles files or groupBytes bytes, or groupWindow after
// its first file: each flush waits for the disk (about 1 ms here, however little it writes), so
// groups must be large enough that flushing is not the batch's bottleneck, and the window
// bounds how long a finished module waits for its rename.
const (
	groupFiles  = 1024
	groupBytes  = 128 << 20
	groupWindow = 200 * time.Millisecond
)

// syncFS is syncfs; tests replace it to make a flush fail.
var syncFS = syncfs

// readAhead is prefetch; tests replace it to see which files are read ahead.
var readAhead = prefetch

// commitGroup makes the group's temporary files durable (one syncFS per filesystem, when
// grouped; else each was fsynced as it was written) and then renames each into place. If a
// filesystem cannot be flushed, its files are not renamed: their temporary files are removed
// and they fail.
func commitGroup(group []stagedWrite, dirs *sync.Map, done func(int, FileResult), grouped bool) {
	flushErr := map[uint64]error{}
	if grouped {
		for _, s := range group {
			if _, ok := flushErr[s.t.dev]; !ok {
				flushErr[s.t.dev] = syncFS(s.t.name)
			}
		}
	}
	for _, s := range group {
		r := s.r
		err := flushErr[s.t.dev]
		if err != nil {
			os.Remove(s.t.name)
		} else {
			err = s.t.commit()
		}
		if err != nil {
			r.Outcome, r.Error = Failed, err.Error()
		} else {
			r.Outcome = Converted
			dirs.Store(filepath.Dir(s.t.path), s.t.dev)
		}
		done(s.i, r)
	}
}

// prepareOne does everything but the write: the result, and the write to do (nil when the
// file is done: failed, skipped or dry-run).
func prepareOne(in Input, o Options) (FileResult, *pendingWrite) {
	r := FileResult{Path: in.Path, Target: o.To, Output: OutputPath(in, o)}
	fail := func(err error) (FileResult, *pendingWrite) {
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
		if alreadyConverted(r.Output, d, o.Key) {
			r.Outcome = Skipped
			return r, nil
		}
	}
	f, err := Open(in.Path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	r.SourceFormat = "none"
	if src := formats.Detect(f.Module); src != nil {
		r.SourceFormat = src.ID()
		if sig, err := src.Parse(f.Module); err == nil {
			r.SourceSigner, r.SourceKeyID = sig.Signer, hex.EncodeToString(sig.KeyID)
		}
	}
	if o.From != "" && r.SourceFormat != o.From {
		return fail(fmt.Errorf("source is %s, not %s", r.SourceFormat, o.From))
	}
	if o.SourceRing != nil {
		v := Verify(f.Module, o.SourceRing, formats.Policy{}, "")
		if v.Outcome != formats.OK {
			return fail(fmt.Errorf("source signature: %s: %s", v.Outcome, v.Reason))
		}
	}
	data, err := f.Bytes()
	if err != nil {
		return fail(err)
	}
	// An uncompressed module's bytes are ours alone (a pooled buffer): the signature may be
	// appended to them without a copy, and they go back to the pool when written, or now if
	// there is nothing to write. A compressed one's are also what f.Module reads.
	var buf []byte
	if f.Compression == None {
		buf = data
	}
	pw, err := convertBytes(in, o, f, data, &r)
	if pw == nil && buf != nil {
		putBuf(buf)
	} else if pw != nil {
		pw.buf = buf
	}
	if err != nil {
		return fail(err)
	}
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
	out, err := Compress(res.Signed, f.Compression)
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

// alreadyConverted reports whether path exists, is signed in d's format and verifies with k.
func alreadyConverted(path string, d formats.Driver, k *keys.Material) bool {
	f, err := Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if got := formats.Detect(f.Module); got == nil || got.ID() != d.ID() {
		return false
	}
	return d.Verify(f.Module, SelfRing(k), formats.Policy{}).Outcome == formats.OK
}
