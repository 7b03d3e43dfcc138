package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// KeysCmd is `kmodsig keys`.
type KeysCmd struct {
	Generate KeysGenerateCmd `cmd:"" help:"Generate a key and certificate the way the kernel's x509.genkey does."`
	Export   KeysExportCmd   `cmd:"" help:"Write the public key in the form one era's kernel needs to trust it."`
	Show     KeysShowCmd     `cmd:"" help:"Show the key ids each era derives from a key."`
}

// KeysGenerateCmd is `kmodsig keys generate`.
type KeysGenerateCmd struct {
	Type   string `default:"rsa4096" enum:"rsa2048,rsa3072,rsa4096,ecdsa-p256,ecdsa-p384,dsa1024" help:"Key type: ${enum}."`
	CN     string `name:"cn" default:"kmodsig module signing key" help:"Certificate subject CN."`
	O      string `name:"o" default:"kmodsig" help:"Certificate subject O."`
	Days   int    `default:"36500" help:"Certificate validity in days."`
	Output string `short:"f" name:"output" required:"" help:"Write the private key and certificate (one PEM, what MODULE_SIG_KEY takes) here." type:"path"`
}

func (c *KeysGenerateCmd) Run(e *env) error {
	// Checked before the key is made (an RSA-4096 key takes a second or more).
	if _, err := os.Lstat(c.Output); err == nil {
		return usage(fmt.Errorf("%s exists; not overwriting a key", c.Output))
	}
	if c.Days < 1 || c.Days > 3000000 {
		// (keys.Generate refuses an end after 9999-12-31; this bound keeps the sum in range)
		return usage(fmt.Errorf("--days %d: a certificate is valid for at least one day and ends by 9999-12-31", c.Days))
	}
	pemBytes, err := keys.Generate(keys.GenerateOptions{Type: c.Type, CommonName: c.CN, Organization: c.O, Days: c.Days})
	if err != nil {
		return usage(err)
	}
	return conv.WriteAtomic(c.Output, pemBytes, 0o600, timeZero)
}

// KeysExportCmd is `kmodsig keys export`.
type KeysExportCmd struct {
	Format  string `required:"" predictor:"format" help:"Format id whose kernel's key form to write."`
	Key     string `required:"" help:"Private key (any form kmodsig reads)."`
	Cert    string `help:"Certificate for the key (else derived)."`
	Variant string `predictor:"variant" help:"Format variant (digsig2012 v2 exports the certificate)."`
	Output  string `short:"o" name:"output" help:"Output file (default: the era's file name in the current directory; - for standard output)." type:"path"`
	// Randomize is KeyFlags.Randomize: an OpenPGP key's DSA self-signature is deterministic
	// (RFC 6979) unless it is set.
	Randomize bool `help:"Draw the nonce of a DSA self-signature (rhel5, rhel6 OpenPGP keys) at random instead of deriving it by RFC 6979; the same key then no longer exports to the same bytes."`
}

func (c *KeysExportCmd) Run(e *env) error {
	d, err := formats.Lookup(c.Format)
	if err != nil {
		return usage(err)
	}
	kf := KeyFlags{Key: c.Key, Cert: c.Cert, Variant: c.Variant}
	if err := kf.check(d); err != nil { // a --variant of a format that has none
		return usage(err)
	}
	k, err := kf.material()
	if err != nil {
		return usage(err)
	}
	defer k.Close()
	x, ok := d.(formats.KeyExporter)
	if !ok {
		return usage(fmt.Errorf("%s: no key export for this format", c.Format))
	}
	data, name, err := x.ExportKey(k, formats.SignOptions{Variant: c.Variant, Deterministic: !c.Randomize})
	if errors.Is(err, formats.ErrVariant) {
		return usage(err)
	}
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	out := c.Output
	if out == "" {
		out = name
	}
	if out == "-" {
		// PEM and armour go to a terminal as text; a binary key (an OpenPGP packet, DER)
		// does not.
		if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
			if err := binaryToStdout(e); err != nil {
				return usage(err)
			}
		}
		if _, err := e.stdout.Write(data); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("writing standard output: %w", err)}
		}
		return nil
	}
	if out, err = conv.Destination(out); err != nil {
		return usage(err)
	}
	if err := conv.WriteAtomic(out, data, 0o644, timeZero); err != nil {
		return usage(err)
	}
	fmt.Fprintf(e.stderr, "%s: wrote %s (%d bytes)\n", programName, out, len(data))
	return nil
}
