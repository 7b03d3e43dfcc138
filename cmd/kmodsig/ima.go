package main

import (
	"bytes"
	"fmt"

	"github.com/kmodsig/kmodsig/digsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// ImaCmd is `kmodsig ima`: the IMA signature forms of digsig (what `evmctl ima_sign --sigfile`
// writes and `evmctl ima_verify --sigfile` reads): a `<file>.sig` holding the security.ima value.
type ImaCmd struct {
	Sign   ImaSignCmd   `cmd:"" help:"Write FILE.sig (03 ‖ digsig v1 or v2 signature), as evmctl ima_sign --sigfile does."`
	Verify ImaVerifyCmd `cmd:"" help:"Verify FILE against FILE.sig, as evmctl ima_verify --sigfile does."`
}

// ImaSignCmd is `kmodsig ima sign`.
type ImaSignCmd struct {
	KeyFlags
	Files []string `arg:"" name:"FILE" help:"Files to sign."`
}

func (c *ImaSignCmd) Run(e *env) error {
	if c.Kernel != "" {
		return usage(fmt.Errorf("--kernel %s: ima sign writes a file's security.ima value, which no module kernel model checks", c.Kernel))
	}
	if d, err := formats.Lookup(digsig.ID); err == nil {
		if err := c.KeyFlags.check(d); err != nil {
			return usage(err)
		}
	}
	k, err := c.material()
	if err != nil {
		return usage(err)
	}
	defer k.Close()
	o, err := c.options(e)
	if err != nil {
		return usage(err)
	}
	if err := preflight(&c.KeyFlags, o, func(o formats.SignOptions) error {
		_, err := digsig.Sign(bytes.NewReader(nil), k, o)
		return err
	}); err != nil {
		return usage(err)
	}
	// Each file on its own, as strip and verify do: one that cannot be signed does not stop
	// the rest, and the exit status says that one failed.
	failed := false
	for _, f := range c.Files {
		p, err := digsig.SignFile(f, k, o)
		if err != nil {
			printError(e.stderr, err)
			failed = true
			continue
		}
		fmt.Fprintf(e.stderr, "%s: wrote %s\n", programName, p)
	}
	if failed {
		return &exitError{code: exitFailed}
	}
	return nil
}

// ImaVerifyCmd is `kmodsig ima verify`.
type ImaVerifyCmd struct {
	Keyring []string `placeholder:"FILE" help:"Trusted keys (v1: digsig blob, PEM/DER public key or certificate; v2: certificate)." type:"existingfile"`
	Files   []string `arg:"" name:"FILE" help:"Files whose FILE.sig to check."`
}

func (c *ImaVerifyCmd) Run(e *env) error {
	ring, err := keys.LoadRing(c.Keyring...)
	if err != nil {
		return usage(err)
	}
	code := exitOK
	for _, f := range c.Files {
		v, err := digsig.VerifySigFile(f, ring)
		if err != nil {
			printError(e.stderr, err)
			code = exitUsage
			continue
		}
		fmt.Fprintf(e.stdout, "%s: %s: %s\n", displayPath(f), v.Outcome, printable(v.Reason))
		if v.Outcome != formats.OK && code == exitOK {
			code = exitFailed
		}
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}
