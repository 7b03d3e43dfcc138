package main

import (
	"github.com/alecthomas/kong"
	mangokong "github.com/alecthomas/mango-kong"
	kongcompletion "github.com/jotaen/kong-completion"
)

// CLI is the command line (DESIGN.md "The command line").
type CLI struct {
	Inspect InspectCmd `cmd:"" help:"Print the signatures of modules (modinfo's fields plus format, era and variant)."`
	Verify  VerifyCmd  `cmd:"" help:"Verify modules and say what each era's kernel would do, permissive and enforcing."`
	Sign    SignCmd    `cmd:"" help:"Sign a module in one format, replacing any signature it has."`
	Strip   StripCmd   `cmd:"" help:"Remove every signature, giving back the module as it was before signing."`
	Convert ConvertCmd `cmd:"" help:"Re-sign modules or whole trees in another format with one key."`
	Keys    KeysCmd    `cmd:"" help:"Generate keys, show their ids per era, export each era's public form."`
	Ima     ImaCmd     `cmd:"" help:"IMA signature files (evmctl ima_sign/ima_verify --sigfile compatible)."`
	Formats FormatsCmd `cmd:"" help:"List the supported formats."`
	Demo    DemoCmd    `cmd:"" help:"Sign the embedded sample module in every format, convert across every pair, verify each."`
	Vectors VectorsCmd `cmd:"" help:"Write the deterministic test-vector set (every format, valid and broken, with a Wycheproof-style manifest)."`

	Completion kongcompletion.Completion `cmd:"" help:"Print the shell code that enables tab completion (bash, zsh, fish)."`

	Version kong.VersionFlag  `help:"Print the version."`
	Man     mangokong.ManFlag `help:"Write the man page (troff) to standard output."`
}
