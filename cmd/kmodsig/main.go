// Command kmodsig reads, verifies, strips, signs and converts Linux kernel module signatures
// in every historical format. Run `kmodsig --help`; DESIGN.md fixes the command line.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"
	kongcompletion "github.com/jotaen/kong-completion"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// Exit codes (DESIGN.md).
const (
	exitOK      = 0
	exitFailed  = 1 // some file failed to verify or convert
	exitUsage   = 2 // usage error or unreadable input
	programName = "kmodsig"
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// failed returns an error that exits with code 1 after the output was printed.
func failed() error { return &exitError{code: exitFailed} }

// usage returns an error that exits with code 2.
func usage(err error) error { return &exitError{code: exitUsage, err: err} }

// env is what commands print to.
type env struct {
	stdin          io.Reader // read by inspect - and verify -
	stdout, stderr io.Writer
}

// description is the program's help: its first line names it (the man page's NAME), the
// rest is the man page's DESCRIPTION and follows the usage line of --help.
const description = `Read, verify, strip, sign and convert Linux kernel module signatures of every era.

Seven formats of twenty years: Kroah-Hartman's 2004 ELF module_sig section (gkh2004), Red Hat's .module_sig and .note.module.sig (rhel5, rhel6), Howells' 2012 GPG trailer (gpg2012), Kasatkin's 2012 digsig trailer (digsig2012), the 3.7-era X.509 trailer (x509) and today's PKCS#7 trailer (pkcs7), plain or in .ko.xz, .ko.zst and .ko.gz. Every signed result is verified before it is written, and every verdict says what that era's kernel would do, permissive and enforcing.

Exit status: 0 all good; 1 some file failed to verify or convert (or verify found no module); 2 usage error or unreadable input.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cli CLI
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name(programName),
		kong.Description(description),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": version + " (RSA signing: " + formats.RSABackend() + "; PKCS#11 keys: " + map[bool]string{true: "yes", false: "no"}[keys.PKCS11Supported()] + ")"},
	)
	if err != nil {
		printError(stderr, err)
		return exitUsage
	}
	// Answers the shell's completion requests, then exits.
	kongcompletion.Register(parser, kongcompletion.WithPredictors(predictors()))
	if exit >= 0 {
		return exit
	}
	ctx, err := parser.Parse(args)
	if exit >= 0 { // --help or --version
		return exit
	}
	if err != nil {
		printError(stderr, err)
		return exitUsage
	}
	err = ctx.Run(&env{stdin: os.Stdin, stdout: stdout, stderr: stderr})
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stderr, ee.err)
		}
		return ee.code
	}
	printError(stderr, err)
	return exitUsage
}

const version = "0.1.0"
