package main

import (
	"fmt"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// VerifyCmd is `kmodsig verify`.
type VerifyCmd struct {
	Keyring []string `placeholder:"FILE" help:"Trusted keys: certificates (PEM/DER), public keys, OpenPGP keyrings, digsig blobs, the gkh2004 tree's rsa_key.c. Repeatable." type:"existingfile"`
	Enforce bool     `help:"Lead each line with the enforcing-mode result (module.sig_enforce=1)."`
	Kernel  string   `predictor:"kernel" help:"Kernel model of the era: linux-X.Y (any mainline version), linux-3.7-rc1, rhel4, rhel5, rhel6, fedora2012[-early], howells-2012[-early], modsig-rfc-2012, gkh2004-tree, gkh2004-article, gkh2004-stub; default: the format's own era."`
	JSON    bool     `help:"Print a JSON array, one object per file."`
	Jobs    int      `short:"j" help:"Files verified in parallel (default: all cores; at most 256)."`
	Paths   []string `arg:"" name:"FILE" help:"Module files or directories (walked for .ko, .ko.xz, .ko.zst, .ko.gz); - alone reads one module, compressed or not, from standard input."`
}

// verifyJSON is one file in `verify --json` (stable field names).
type verifyJSON struct {
	Path       string   `json:"path"`
	PathBytes  []byte   `json:"path_bytes,omitempty"` // conv.RawPath
	Format     string   `json:"format"`
	Variant    string   `json:"variant,omitempty"`
	Outcome    string   `json:"outcome"`
	Permissive string   `json:"permissive"`
	Enforcing  string   `json:"enforcing"`
	Signer     string   `json:"signer"`
	KeyID      string   `json:"key_id"`
	Hash       string   `json:"hash"`
	Reason     string   `json:"reason"`
	Kernel     string   `json:"kernel,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	Error      string   `json:"error,omitempty"`
}

func (c *VerifyCmd) Run(e *env) error {
	if err := checkJobs(e, c.Jobs); err != nil {
		return usage(err)
	}
	if err := formats.CheckKernel(c.Kernel); err != nil {
		return usage(fmt.Errorf("--kernel: %w", err))
	}
	ring, err := keys.LoadRing(c.Keyring...)
	if err != nil {
		return usage(err)
	}
	type result struct {
		j   verifyJSON
		err error
	}
	defer cgoWorkers(c.Jobs)()
	defer batchGC()()
	open, stdin, err := moduleOpener(e, c.Paths)
	if err != nil {
		return usage(err)
	}
	work := func(in conv.Input) result {
		j, err := verifyFile(in.Path, open, ring, formats.Policy{Kernel: c.Kernel})
		return result{j, err}
	}
	var inputs []conv.Input
	var results []result
	if stdin {
		inputs = []conv.Input{{Path: "-"}}
		results = []result{work(inputs[0])}
	} else {
		inputs, results, err = conv.WalkEach(c.Paths, conv.WalkOptions{Jobs: c.Jobs, ReadAhead: true}, work)
	}
	unread, err := walkTrouble(err)
	if err != nil {
		return usage(err)
	}
	warnNoModules(e, len(inputs), c.Paths)
	var out []verifyJSON
	code := exitOK
	for i, in := range inputs {
		j, err := results[i].j, results[i].err
		if err != nil {
			code = exitUsage
			printError(e.stderr, err)
			j = verifyJSON{Path: in.Path, Error: err.Error()}
		} else if j.Outcome != string(formats.OK) && code == exitOK {
			code = exitFailed
		}
		if c.JSON {
			j.PathBytes = conv.RawPath(j.Path)
			out = append(out, j)
		} else if err == nil {
			if c.Enforce {
				fmt.Fprintf(e.stdout, "%s: %s [%s] enforcing %s, permissive %s: %s\n", displayPath(j.Path), j.Outcome, j.Format, j.Enforcing, j.Permissive, printable(j.Reason))
			} else {
				fmt.Fprintf(e.stdout, "%s: %s [%s] permissive %s, enforcing %s: %s\n", displayPath(j.Path), j.Outcome, j.Format, j.Permissive, j.Enforcing, printable(j.Reason))
			}
			if j.Error != "" {
				fmt.Fprintf(e.stdout, "\terror: %s\n", printable(j.Error))
			}
			for _, n := range j.Notes {
				fmt.Fprintf(e.stdout, "\tnote: %s\n", printable(n))
			}
		}
	}
	if c.JSON {
		if out == nil {
			out = []verifyJSON{}
		}
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	}
	printUnread(e, unread)
	if unread != nil {
		code = exitUsage
	}
	if len(inputs) == 0 && code == exitOK {
		// Nothing verified is not "every file ok": a check of a mistyped or empty tree in a
		// script must not pass (warnNoModules said why).
		code = exitFailed
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func verifyFile(path string, open func(string) (*conv.File, error), ring *keys.Ring, p formats.Policy) (verifyJSON, error) {
	f, err := open(path)
	if err != nil {
		return verifyJSON{}, err
	}
	defer f.Close()
	v := conv.Verify(f.Module, ring, p, "")
	j := verifyJSON{Path: path, Format: v.Format, Variant: v.Variant, Outcome: string(v.Outcome),
		Permissive: string(v.Permissive), Enforcing: string(v.Enforcing), Signer: v.Signer, KeyID: v.KeyID,
		Hash: v.Hash, Reason: v.Reason, Kernel: v.Kernel, Notes: v.Notes}
	if v.Err != nil {
		// The parse error names the file, the format and the byte offset.
		j.Error = v.Err.Error()
	}
	return j, nil
}
