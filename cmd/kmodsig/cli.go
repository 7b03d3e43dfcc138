package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/alecthomas/kong"
	mangokong "github.com/alecthomas/mango-kong"
	kongcompletion "github.com/jotaen/kong-completion"
	"github.com/muesli/roff"
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

	Version kong.VersionFlag `help:"Print the version."`
	Man     manFlag          `help:"Write the man page (troff) to standard output (dated SOURCE_DATE_EPOCH when set)."`
}

// manFlag is mangokong.ManFlag, with the page dated by SOURCE_DATE_EPOCH when it is set (the
// reproducible-builds convention, which `make man` follows with the last commit's time), so
// that the same sources give the same page; without it, today, as mango dates it.
type manFlag bool

func (manFlag) BeforeApply(app *kong.Kong) error {
	page := mangokong.NewManPage(1, app.Model).Build(roff.NewDocument())
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds", epoch)
		}
		page = manDate(page, time.Unix(n, 0).UTC())
	}
	fmt.Fprint(app.Stdout, manTitle(page))
	app.Exit(0)
	return nil
}

// thDate is the date field of a man page's .TH line: .TH NAME SECTION "DATE" ...
var thDate = regexp.MustCompile(`(?m)^(\.TH \S+ \S+ )"[^"]*"`)

// thTail is what follows the date on a man page's .TH line: the source and manual fields.
var thTail = regexp.MustCompile(`(?m)^(\.TH \S+ \S+ "[^"]*").*$`)

// manTitle sets the source and manual fields of page's .TH line as man pages have them
// ("kmodsig 0.1.0", "User Commands"): mango puts the program's whole description in the
// manual field, which man prints centred on the header line, over the other two fields.
func manTitle(page string) string {
	return thTail.ReplaceAllString(page, `${1} "`+programName+` `+version+`" "User Commands"`)
}

// manDate sets the date of page's .TH line to t.
func manDate(page string, t time.Time) string {
	return thDate.ReplaceAllString(page, `${1}"`+t.Format("2006-01-02")+`"`)
}
