package main

import (
	"fmt"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
)

// FormatsCmd is `kmodsig formats`.
type FormatsCmd struct {
	JSON bool `help:"Print a JSON array."`
}

func (c *FormatsCmd) Run(e *env) error {
	var infos []formats.Info
	for _, d := range formats.All() {
		infos = append(infos, d.Info())
	}
	if c.JSON {
		return writeJSON(e.stdout, infos)
	}
	for _, i := range infos {
		fmt.Fprintf(e.stdout, "%-12s %s\n", i.ID, i.Era)
		fmt.Fprintf(e.stdout, "%-12s %s\n", "", i.Container)
		if len(i.KeyTypes) == 0 {
			// a format kmodsig reads, verifies and strips but never writes (pgp-trailer)
			fmt.Fprintf(e.stdout, "%-12s read, verify and strip only: kmodsig does not sign it\n", "")
		} else {
			fmt.Fprintf(e.stdout, "%-12s keys: %s; hashes: %s\n", "", strings.Join(i.KeyTypes, ", "), strings.Join(i.Hashes, ", "))
		}
		if len(i.Variants) > 0 {
			fmt.Fprintf(e.stdout, "%-12s variants: %s\n", "", strings.Join(i.Variants, ", "))
		}
	}
	return nil
}
