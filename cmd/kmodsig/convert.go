package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/kmodsig/kmodsig"
	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// ConvertCmd is `kmodsig convert`.
type ConvertCmd struct {
	To   string `required:"" predictor:"format" help:"Target format id."`
	From string `predictor:"from" help:"Require every source to be in this format (none: unsigned); the others fail, untouched."`
	KeyFlags
	VerifySource []string `name:"verify-source" placeholder:"FILE" help:"Verify each source signature against these trusted keys first; a source that does not verify is not converted." type:"existingfile"`
	Output       string   `short:"o" name:"output" help:"Write the result here (one input file). Its suffix chooses the container: .ko.xz, .ko.zst, .ko.gz or plain .ko; any other name keeps the input's." type:"path"`
	OutDir       string   `name:"out-dir" help:"Write results under this directory, mirroring the input tree." type:"path"`
	InPlace      bool     `help:"Replace each input atomically; a file argument that is a symbolic link replaces the file it names."`
	Jobs         int      `short:"j" help:"Parallel workers (default: all cores; at most 256)."`
	DryRun       bool     `name:"dry-run" help:"Do everything but write."`
	Resume       bool     `help:"Skip inputs whose output is already what this run writes: in the target format, verifying with the key, over the input as it is now, signed with the same options."`
	FsyncEach    bool     `name:"fsync-each" help:"Make each file durable with its own fsync instead of one syncfs per group of files: slower, but never waits for other programs' writes to the same filesystem."`
	Report       string   `help:"Write a JSON report here (- for standard output)." type:"path"`
	EmitKeys     string   `name:"emit-keys" help:"Write the public key in the form the target era's kernel needs into this directory." type:"path"`
	Paths        []string `arg:"" name:"PATH" help:"Module files or directories."`
}

func (c *ConvertCmd) Run(e *env) error {
	if err := checkJobs(e, c.Jobs); err != nil {
		return usage(err)
	}
	n := 0
	for _, set := range []bool{c.Output != "", c.OutDir != "", c.InPlace} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usage(errors.New("give exactly one of -o, --out-dir, --in-place"))
	}
	d, err := formats.Lookup(c.To)
	if err != nil {
		return usage(err)
	}
	if err := c.KeyFlags.check(d); err != nil {
		return usage(err)
	}
	if c.From != "" && c.From != "none" {
		if _, err := formats.Lookup(c.From); err != nil {
			return usage(err)
		}
	}
	k, err := c.material()
	if err != nil {
		return usage(err)
	}
	defer k.Close()
	so, err := c.options(e)
	if err != nil {
		return usage(err)
	}
	if err := preflight(&c.KeyFlags, so, func(o formats.SignOptions) error {
		_, err := conv.Sign(sampleName, kmodsig.SampleModule, d.ID(), k, o)
		return unnamed(err, sampleName)
	}); err != nil {
		return usage(err)
	}
	inputs, err := conv.Walk(c.Paths)
	unread, err := walkTrouble(err)
	if err != nil {
		return usage(err)
	}
	if c.OutDir != "" {
		// A file in the way is found now, not as the same mkdir error for every module.
		if err := dirWay(c.OutDir); err != nil {
			return usage(fmt.Errorf("--out-dir %w", err))
		}
		var inOut int
		if inputs, inOut = conv.WithoutOutDir(inputs, c.OutDir); inOut > 0 {
			fmt.Fprintf(e.stderr, "%s: leaving out %d module files inside --out-dir %s (an earlier run's results)\n", programName, inOut, c.OutDir)
		}
	}
	warnNoModules(e, len(inputs), c.Paths)
	if c.Output != "" && len(inputs) != 1 {
		return usage(errors.New("-o takes exactly one input file"))
	}
	if c.Output == "-" {
		return usage(errors.New("-o -: convert writes files (kmodsig sign -o - writes to standard output)"))
	}
	if c.Output != "" {
		// A directory is refused now, not after the signing.
		if _, err := conv.Destination(c.Output); err != nil {
			return usage(err)
		}
	}
	// The report is written after the batch: a directory that is not there is found now,
	// not after hours of converting.
	if c.Report != "" && c.Report != "-" {
		if st, err := os.Stat(filepath.Dir(c.Report)); err != nil || !st.IsDir() {
			return usage(fmt.Errorf("--report %s: %s is not a directory", c.Report, filepath.Dir(c.Report)))
		}
		if st, err := os.Stat(c.Report); err == nil && st.IsDir() {
			return usage(fmt.Errorf("--report %s is a directory", c.Report))
		}
	}
	// The trust anchor goes first: it needs only the key, and a directory that cannot take
	// it (a file of that name, no permission) is found before the batch, not after it.
	if c.EmitKeys != "" && !c.DryRun {
		if err := emitKey(d, k, so, c.EmitKeys); err != nil {
			return usage(fmt.Errorf("--emit-keys %s: %w", c.EmitKeys, err))
		}
	}
	o := conv.Options{To: c.To, From: c.From, Key: k, Sign: so, OutDir: c.OutDir, Output: c.Output,
		InPlace: c.InPlace, Jobs: c.Jobs, DryRun: c.DryRun, Resume: c.Resume, FsyncEach: c.FsyncEach}
	if c.Report != "" && c.Report != "-" {
		if err := reportClash(c.Report, inputs, o); err != nil {
			return usage(err)
		}
	}
	if len(c.VerifySource) > 0 {
		if o.SourceRing, err = keys.LoadRing(c.VerifySource...); err != nil {
			return usage(err)
		}
	}
	// The batch keeps about the largest module in flight (conv.Convert), held twice at most
	// (as read and as signed). A soft memory limit of twice that plus 16 MiB makes the
	// collector reclaim what finished modules held before the heap outgrows it, and leaves
	// about 20 MiB of the RSS budget (3x the largest module + 32 MiB) to what is not Go heap:
	// the binary, stacks, libcrypto. Under that limit the collector may let the heap grow to
	// five times what is live (batchGC): a batch allocates two module-sized buffers per
	// module, and collecting after every few of them (GOGC 100), with the scavenger handing the
	// pages back to the kernel in between, was a tenth of a batch's CPU time.
	conv.Sizes(inputs)
	var largest int64
	for _, in := range inputs {
		largest = max(largest, in.Size)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(2*max(largest, conv.MinBatchBudget) + 16<<20))
	defer batchGC()()
	defer cgoWorkers(c.Jobs)()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// A signal, not the stop at the end: say what happens now. The signals go back to
		// their default first, so a second one stops kmodsig at once (every module is still
		// either untouched or completely converted: the writes are renames; what is left is
		// temporary files, which --resume removes).
		if cause := context.Cause(ctx); cause != context.Canceled {
			stop()
			fmt.Fprintf(e.stderr, "%s: %v: converting no new file, finishing the files in flight (again to stop at once)\n", programName, cause)
		}
	}()

	var bar *mpb.Bar
	var progress *mpb.Progress
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && len(inputs) > 1 {
		progress = mpb.New(mpb.WithOutput(f))
		bar = progress.AddBar(int64(len(inputs)),
			mpb.PrependDecorators(decor.Name("convert "+c.To+" "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Percentage(), decor.Name(" "), decor.EwmaETA(decor.ET_STYLE_GO, 30)))
	}
	o.OnDone = func(r conv.FileResult) {
		if bar != nil {
			bar.Increment()
		}
		if r.Outcome == conv.Failed {
			// A format error names the file itself ("PATH: FORMAT: offset ..."); others
			// ("source is none, not gpg2012") get it here.
			msg := r.Error
			if !strings.HasPrefix(msg, r.Path+": ") {
				msg = r.Path + ": " + msg
			}
			printError(e.stderr, msg)
		}
		if r.Warning != "" {
			printWarning(e.stderr, r.Output+": "+r.Warning)
		}
	}
	rep := conv.Convert(ctx, inputs, o)
	if unread != nil {
		// What the walk could not read was not converted: the summary and the report say so.
		for _, err := range unread.Errs {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	if progress != nil {
		bar.Abort(false)
		progress.Wait()
	}
	for _, err := range rep.Errors {
		printError(e.stderr, err)
	}
	fmt.Fprintf(e.stderr, "%s: %d converted, %d skipped, %d dry-run, %d failed of %d (%.2fs)\n", programName,
		rep.Converted, rep.Skipped, rep.DryRun, rep.Failed, rep.Total, rep.Seconds)
	if c.Report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if c.Report == "-" {
			if _, err := e.stdout.Write(append(b, '\n')); err != nil {
				return usage(fmt.Errorf("--report -: writing standard output: %w", err))
			}
		} else if err := conv.WriteAtomic(c.Report, append(b, '\n'), 0o644, timeZero); err != nil {
			return usage(fmt.Errorf("--report %s: %w", c.Report, err))
		}
	}
	if unread != nil {
		return &exitError{code: exitUsage} // unreadable input
	}
	if rep.Err() != nil {
		return failed()
	}
	return nil
}

func emitKey(d formats.Driver, k *keys.Material, so formats.SignOptions, dir string) error {
	x, ok := d.(formats.KeyExporter)
	if !ok {
		return fmt.Errorf("%s: no key export for this format", d.ID())
	}
	data, name, err := x.ExportKey(k, so)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return conv.WriteAtomic(filepath.Join(dir, name), data, 0o644, timeZero)
}

// reportClash refuses a --report path that names one of the batch's modules or one of its
// results: the report, written last, would replace a converted module with JSON (`--report
// *.ko` makes the first module the report). Paths are compared absolute and cleaned; an
// existing report file is also compared, by device and inode, with the inputs of its size,
// so that another name of a module (a hard or symbolic link) is found too.
func reportClash(report string, inputs []conv.Input, o conv.Options) error {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	rep, base := abs(report), filepath.Base(report)
	st, statErr := os.Stat(report)
	for _, in := range inputs {
		var same bool
		out := conv.OutputPath(in, o)
		// Only a path of the same base name can be the same path (Abs is a getcwd each).
		if (filepath.Base(in.Path) == base && rep == abs(in.Path)) || (filepath.Base(out) == base && rep == abs(out)) {
			same = true
		} else if statErr == nil && st.Mode().IsRegular() && in.Size == st.Size() {
			ist, err := os.Stat(in.Path)
			same = err == nil && os.SameFile(st, ist)
		}
		if same {
			return fmt.Errorf("--report %s is the module %s or its result: the report would replace it", report, in.Path)
		}
	}
	return nil
}
