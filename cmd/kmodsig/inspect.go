package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
)

// InspectCmd is `kmodsig inspect`.
type InspectCmd struct {
	JSON  bool     `help:"Print a JSON array, one object per file."`
	Jobs  int      `short:"j" help:"Files read in parallel (default: all cores; at most 256)."`
	Paths []string `arg:"" name:"FILE" help:"Module files or directories (walked for .ko, .ko.xz, .ko.zst, .ko.gz); - alone reads one module, compressed or not, from standard input."`
}

// inspectJSON is one file in `inspect --json` (field names are stable: add, never rename).
type inspectJSON struct {
	Path        string        `json:"path"`
	PathBytes   []byte        `json:"path_bytes,omitempty"` // conv.RawPath
	Format      string        `json:"format"`
	Variant     string        `json:"variant"`
	Era         string        `json:"era"`
	Signed      bool          `json:"signed"`
	SigID       string        `json:"sig_id"`
	Signer      string        `json:"signer"`
	SigKey      string        `json:"sig_key"`
	SigHashAlgo string        `json:"sig_hashalgo"`
	SigTime     string        `json:"sig_time,omitempty"` // RFC 3339, where the signature records a time
	Signature   string        `json:"signature"`
	PayloadLen  int64         `json:"payload_len"`
	Compression string        `json:"compression"`
	Notes       []string      `json:"notes,omitempty"`
	Layers      []inspectJSON `json:"layers,omitempty"`
	Error       string        `json:"error,omitempty"`
}

func layerJSON(path string, l conv.Layer) inspectJSON {
	j := inspectJSON{Path: path, Format: l.Driver.ID(), Era: l.Driver.Info().Era, Signed: true}
	if l.Err != nil {
		j.Error = l.Err.Error()
		return j
	}
	s := l.Signature
	j.Variant, j.SigID, j.Signer, j.SigHashAlgo = s.Variant, s.SigID, s.Signer, s.HashAlgo
	j.SigKey = hexColons(s.KeyID, false)
	j.Signature = hexColons(s.Value, false) // printInspect wraps it as modinfo does
	if !s.Time.IsZero() {
		j.SigTime = s.Time.UTC().Format(time.RFC3339)
	}
	j.PayloadLen = s.PayloadLen
	j.Notes = s.Notes
	if s.Era != "" {
		j.Era = s.Era
	}
	return j
}

func (c *InspectCmd) Run(e *env) error {
	if err := checkJobs(e, c.Jobs); err != nil {
		return usage(err)
	}
	// Each file is rendered (JSON or text) by the worker that read it: the main goroutine
	// only writes the results out in order.
	type result struct {
		out []byte
		err error
	}
	defer batchGC()()
	open, stdin, err := moduleOpener(e, c.Paths)
	if err != nil {
		return usage(err)
	}
	work := func(in conv.Input) result {
		j, err := inspectFile(in.Path, open)
		if err != nil {
			j = inspectJSON{Path: in.Path, Error: err.Error()}
		}
		if c.JSON {
			j.PathBytes = conv.RawPath(j.Path)
			out, merr := json.Marshal(j)
			if merr != nil {
				return result{nil, merr}
			}
			return result{out, err}
		}
		var b bytes.Buffer
		if err == nil {
			printInspect(&b, j)
		}
		return result{b.Bytes(), err}
	}
	var results []result
	if stdin {
		results = []result{work(conv.Input{Path: "-"})}
	} else {
		_, results, err = conv.WalkEach(c.Paths, conv.WalkOptions{Jobs: c.Jobs}, work)
	}
	unread, err := walkTrouble(err)
	if err != nil {
		return usage(err)
	}
	warnNoModules(e, len(results), c.Paths)
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	if c.JSON {
		bw.WriteString("[")
	}
	bad := false
	for i, r := range results {
		if r.err != nil {
			bad = true
			printError(e.stderr, r.err)
		}
		if c.JSON {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n")
		}
		bw.Write(r.out)
	}
	if c.JSON {
		bw.WriteString("\n]\n")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	printUnread(e, unread)
	if bad || unread != nil {
		return &exitError{code: exitUsage}
	}
	return nil
}

func inspectFile(path string, open func(string) (*conv.File, error)) (inspectJSON, error) {
	f, err := open(path)
	if err != nil {
		return inspectJSON{}, err
	}
	defer f.Close()
	layers := conv.Layers(f.Module)
	j := inspectJSON{Path: path, Format: "none", Compression: string(f.Compression)}
	if len(layers) == 0 {
		j.PayloadLen = f.Module.Size
		// "format: none" alone would call a text file or a truncated module an unsigned
		// module; say what the kernel (and modinfo) would make of it. Only unsigned files
		// pay for this header read: a signature's own checks say the rest.
		if why := formats.ELFHeaderRefusal(f.Module, f.Module.Size); why != "" {
			j.Notes = append(j.Notes, "not a module a kernel loads (ENOEXEC): "+why)
		}
		return j, nil
	}
	j = layerJSON(path, layers[0])
	j.Compression = string(f.Compression)
	if len(layers) > 1 {
		for _, l := range layers[1:] {
			j.Layers = append(j.Layers, layerJSON(path, l))
		}
	}
	return j, nil
}

func printInspect(w io.Writer, j inspectJSON) {
	field(w, "filename", displayPath(j.Path))
	field(w, "format", j.Format)
	if j.Compression != "" {
		field(w, "compression", j.Compression)
	}
	if !j.Signed {
		for _, n := range j.Notes {
			field(w, "note", n)
		}
		fmt.Fprintln(w)
		return
	}
	printLayer(w, j)
	for i, l := range j.Layers {
		field(w, "layer", fmt.Sprintf("%d (inside the signature above)", i+2))
		field(w, "format", l.Format)
		printLayer(w, l)
	}
	fmt.Fprintln(w)
}

func printLayer(w io.Writer, j inspectJSON) {
	if j.Variant != "" {
		field(w, "variant", j.Variant)
	}
	field(w, "era", j.Era)
	if j.Error != "" {
		field(w, "error", j.Error)
		return
	}
	field(w, "sig_id", j.SigID)
	field(w, "signer", j.Signer)
	fieldHex(w, "sig_key", wrapColons(j.SigKey))
	field(w, "sig_hashalgo", j.SigHashAlgo)
	if j.SigTime != "" {
		field(w, "sig_time", j.SigTime)
	}
	fieldHex(w, "signature", wrapColons(j.Signature))
	field(w, "payload_len", fmt.Sprint(j.PayloadLen))
	for _, n := range j.Notes {
		field(w, "note", n)
	}
}

// wrapColons wraps one-line colon-hex every 20 bytes, as modinfo prints it.
func wrapColons(s string) string {
	const line = 20 * 3 // "AB:" per byte
	var b strings.Builder
	for len(s) > line {
		b.WriteString(s[:line])
		b.WriteString("\n\t\t")
		s = s[line:]
	}
	b.WriteString(s)
	return b.String()
}
