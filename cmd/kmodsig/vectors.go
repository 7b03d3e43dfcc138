package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kmodsig/kmodsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/vectors"
)

// VectorsCmd is `kmodsig vectors`.
type VectorsCmd struct {
	Out      string   `short:"o" default:"vectors" type:"path" help:"Directory to write the set into (created; existing files with the same names are overwritten, others are left alone)."`
	Format   []string `name:"format" predictor:"format" help:"Only this format (repeatable): gkh2004, rhel5, rhel6, gpg2012, digsig2012, x509, pkcs7."`
	Testdata string   `type:"existingdir" help:"Read the keys and modules from this testdata directory (keys/, modules/, elf/) instead of the copy built into kmodsig."`
}

func (c *VectorsCmd) Run(e *env) error {
	// An -o that cannot be the set's directory is refused before the set is made.
	if err := dirWay(c.Out); err != nil {
		return usage(fmt.Errorf("-o %w", err))
	}
	var in fs.FS = kmodsig.VectorInputs()
	if c.Testdata != "" {
		in = os.DirFS(c.Testdata)
	}
	set, err := vectors.Generate(in, vectors.Options{Formats: c.Format})
	if err != nil {
		if errors.Is(err, formats.ErrUnknownFormat) {
			return usage(err)
		}
		return &exitError{code: exitFailed, err: err}
	}
	if err := set.Write(c.Out); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Fprintf(e.stdout, "%s: %d tests in %d groups, %d files (manifest %s, schema %s)\n",
		c.Out, set.Manifest.NumberOfTests, len(set.Manifest.TestGroups), len(set.Files), vectors.ManifestFile, vectors.SchemaFile)
	return nil
}
