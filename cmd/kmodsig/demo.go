package main

import (
	"fmt"
	"os"

	"github.com/kmodsig/kmodsig"
)

// DemoCmd is `kmodsig demo`.
type DemoCmd struct {
	Keep bool `help:"Keep the temporary directory (printed) instead of removing it."`
}

func (c *DemoCmd) Run(e *env) error {
	dir, err := os.MkdirTemp("", "kmodsig-demo-")
	if err != nil {
		return err
	}
	if !c.Keep {
		defer os.RemoveAll(dir)
	}
	res, err := kmodsig.Demo(e.stdout, dir)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if !c.Keep {
		fmt.Fprintf(e.stdout, "(removed %s; run `kmodsig demo --keep` to look at the files)\n", dir)
	}
	if res.Failed > 0 {
		return failed()
	}
	return nil
}
