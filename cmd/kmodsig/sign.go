package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
	"golang.org/x/term"
)

// KeyFlags are the key options shared by sign and convert.
type KeyFlags struct {
	Key     string `required:"" help:"Private key: PEM/DER (PKCS#1, PKCS#8, SEC1, DSA), key+cert PEM, gpg secret key export, or a pkcs11: URI. Passphrase/PIN from KBUILD_SIGN_PIN."`
	Cert    string `help:"X.509 certificate (PEM or DER) for the key; derived deterministically when absent."`
	Hash    string `predictor:"hash" help:"Digest (sha1, sha224, sha256, sha384, sha512, sha3-256, ...); default: the format's."`
	KeyID   bool   `name:"keyid" help:"pkcs7: identify the signer by subjectKeyIdentifier (sign-file -k)."`
	Variant string `predictor:"variant" help:"Format variant (gkh2004: detached, encrypted, rsa; rhel6: dsa, rsa; digsig2012: v1, v2)."`
	Time    string `help:"Signature time (RFC 3339 or Unix seconds) of the formats whose signatures carry one (OpenPGP-based, digsig v1); refused by the others. Default: the key material's fixed time."`
	Force   bool   `help:"Sign even where the era's kernel could not verify the key type or hash."`
	Kernel  string `predictor:"kernel" help:"Kernel model (as in verify --kernel) whose verdict the result is checked against before it is written, e.g. linux-6.7 for SHA-3; default: the format's own era."`
	// Randomize turns off formats.SignOptions.Deterministic, which the command line sets by
	// default so that the same key, time and module always give the same bytes.
	Randomize bool `help:"Draw ECDSA and DSA nonces (and gkh2004's encrypted session key) at random, as the era's tools did, instead of deriving them by RFC 6979; the same inputs then no longer give the same bytes."`
}

func (k *KeyFlags) material() (*keys.Material, error) {
	m, err := keys.LoadFile(k.Key)
	if err != nil {
		return nil, err
	}
	if k.Cert != "" {
		c, err := keys.LoadCertificate(k.Cert)
		if err != nil {
			m.Close()
			return nil, err
		}
		if err := m.WithCertificate(c); err != nil {
			m.Close()
			return nil, fmt.Errorf("%s and %s: %w", k.Key, k.Cert, err)
		}
	}
	return m, nil
}

func (k *KeyFlags) options(e *env) (formats.SignOptions, error) {
	o := formats.SignOptions{KeyID: k.KeyID, Variant: k.Variant, Force: k.Force, Kernel: k.Kernel, Deterministic: !k.Randomize,
		Warn: func(msg string) { printWarning(e.stderr, msg) }}
	if k.Hash != "" {
		h, err := formats.ParseHash(k.Hash)
		if err != nil {
			return o, err
		}
		o.Hash = h
	}
	if k.Time != "" {
		t, err := parseTime(k.Time)
		if err != nil {
			return o, err
		}
		o.Time = t
	}
	return o, nil
}

// check refuses options that target format d would ignore, before any work: a --variant for a
// format that has none, --keyid for any format but pkcs7 (sign-file -k; x509 always names
// its key by subjectKeyIdentifier, the others by their own key ids). Both were ignored.
func (k *KeyFlags) check(d formats.Driver) error {
	if k.Variant != "" && len(d.Info().Variants) == 0 {
		return fmt.Errorf("--variant %s: %s has no variants", k.Variant, d.ID())
	}
	if k.KeyID && d.ID() != "pkcs7" {
		return fmt.Errorf("--keyid is for pkcs7 (sign-file -k); %s identifies its key its own way", d.ID())
	}
	if k.Kernel != "" {
		if err := formats.CheckKernel(k.Kernel); err != nil {
			return fmt.Errorf("--kernel: %w", err)
		}
		if !conv.KernelReads(k.Kernel, d.ID()) {
			return fmt.Errorf("--kernel %s: that kernel does not read %s signatures", k.Kernel, d.ID())
		}
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--time %q: want RFC 3339 or Unix seconds", s)
	}
	return t, nil
}

// OutFlags choose where a rewritten module goes.
type OutFlags struct {
	Output  string `short:"o" name:"output" help:"Write the result to this file (- for standard output). Its suffix chooses the container: .ko.xz, .ko.zst, .ko.gz or plain .ko; any other name keeps the input's." type:"path"`
	InPlace bool   `help:"Replace the input file (atomically: temporary file, fsync, rename); through a symbolic link, the file it names."`
}

func (o *OutFlags) check(n int) error {
	switch {
	case o.Output != "" && o.InPlace:
		return errors.New("give either -o or --in-place, not both")
	case o.Output == "" && !o.InPlace:
		return errors.New("give -o OUT or --in-place")
	case o.Output != "" && n > 1:
		return errors.New("-o takes one input file")
	}
	return nil
}

// destination returns the file a result for input goes to (conv.Destination: through a link,
// never a directory), or "-" for standard output. It is checked before any work is done.
func (o *OutFlags) destination(e *env, input string) (string, error) {
	switch {
	case o.InPlace:
		return conv.Destination(input)
	case o.Output == "-":
		if err := binaryToStdout(e); err != nil {
			return "", err
		}
		return "-", nil
	}
	return conv.Destination(o.Output)
}

// binaryToStdout refuses binary output (-o -) when standard output is a terminal: there it
// is noise and the terminal's mess to clean up (age refuses the same way).
func binaryToStdout(e *env) error {
	if f, ok := e.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("-o -: standard output is a terminal; redirect it or name a file")
	}
	return nil
}

// write stores data (decompressed module bytes) for input f at dest (from destination), in
// f's container, or in the one -o's suffix names (conv.OutputCompression).
func (o *OutFlags) write(e *env, f *conv.File, dest string, data []byte) error {
	c := f.Compression
	if !o.InPlace && o.Output != "-" {
		c = conv.OutputCompression(o.Output, c)
	}
	out, err := conv.Compress(data, c)
	if err != nil {
		return err
	}
	if dest == "-" {
		if _, err := e.stdout.Write(out); err != nil {
			return fmt.Errorf("writing standard output: %w", err)
		}
		return nil
	}
	links := conv.HardLinks(dest)
	if err := conv.WriteAtomic(dest, out, f.Mode, time.Time{}); err != nil {
		return err
	}
	if links > 1 {
		printWarning(e.stderr, dest+": "+conv.HardLinkWarning(links))
	}
	return nil
}

// SignCmd is `kmodsig sign`.
type SignCmd struct {
	Format string `required:"" predictor:"format" help:"Target format id (see kmodsig formats)."`
	KeyFlags
	OutFlags
	File string `arg:"" name:"FILE" help:"Module to sign (.ko, .ko.xz, .ko.zst, .ko.gz)."`
}

func (c *SignCmd) Run(e *env) error {
	if err := c.OutFlags.check(1); err != nil {
		return usage(err)
	}
	d, err := formats.Lookup(c.Format)
	if err != nil {
		return usage(err)
	}
	if err := c.KeyFlags.check(d); err != nil {
		return usage(err)
	}
	dest, err := c.OutFlags.destination(e, c.File)
	if err != nil {
		return usage(err)
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
	f, err := conv.Open(c.File)
	if err != nil {
		return usage(err)
	}
	defer f.Close()
	data, err := f.Bytes()
	if err != nil {
		return usage(err)
	}
	res, err := conv.Sign(c.File, data, c.Format, k, o)
	if optionError(err) {
		return usage(err) // the same for any module: the options or the key
	}
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if err := c.OutFlags.write(e, f, dest, res.Signed); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if len(res.Replaced) > 0 {
		fmt.Fprintf(e.stderr, "%s: %s: replaced existing signature (%s)\n", programName, c.File, strings.Join(res.Replaced, ", "))
	}
	return nil
}

// StripCmd is `kmodsig strip`.
type StripCmd struct {
	OutFlags
	Files []string `arg:"" name:"FILE" help:"Modules to strip, or (with --in-place) directories, walked for .ko, .ko.xz, .ko.zst, .ko.gz as convert walks them."`
}

func (c *StripCmd) Run(e *env) error {
	if err := c.OutFlags.check(len(c.Files)); err != nil {
		return usage(err)
	}
	inputs, err := conv.Walk(c.Files)
	unread, err := walkTrouble(err)
	if err != nil {
		return usage(err)
	}
	warnNoModules(e, len(inputs), c.Files)
	if err := c.OutFlags.check(len(inputs)); err != nil { // a directory of several modules
		return usage(err)
	}
	code := exitOK
	for _, in := range inputs {
		if err := c.strip(e, in.Path); err != nil {
			printError(e.stderr, err)
			code = exitUsage
		}
	}
	printUnread(e, unread)
	if unread != nil {
		code = exitUsage
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func (c *StripCmd) strip(e *env, path string) error {
	dest, err := c.OutFlags.destination(e, path)
	if err != nil {
		return err
	}
	f, err := conv.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	unsigned, removed, err := conv.StripAll(f.Module)
	if err != nil {
		return err
	}
	if len(removed) == 0 && c.InPlace {
		// Nothing to remove: the file is left as it is (not rewritten with a new time).
		fmt.Fprintf(e.stderr, "%s: %s: no signature, left as it is\n", programName, path)
		return nil
	}
	return c.OutFlags.write(e, f, dest, unsigned)
}

// preflight signs one sample input (sign) with the key and options before a batch, and
// returns the error if it is one that no input could escape: a hash, key type or variant
// the format does not take, a --time it has nowhere to put, a format only read, a
// certificate without the subjectKeyIdentifier the format names keys by, a signature the
// kernel model of the check cannot verify (conv.ErrUnverifiable). Such a mistake is
// then one usage error before any work, not the same error for each of thousands of files.
// Any other failure is left to the inputs themselves (the sample is one x86-64 module; a
// driver may refuse it for its own reasons). The warnings of the sample's signing are
// dropped: each input's own signing gives them.
func preflight(k *KeyFlags, o formats.SignOptions, sign func(formats.SignOptions) error) error {
	o.Warn, o.Digests, o.InPlace = nil, nil, false
	err := sign(o)
	switch {
	case errors.Is(err, formats.ErrUntimed):
		return fmt.Errorf("--time %s: %w", k.Time, err)
	case optionError(err):
		return err
	}
	return nil
}

// optionError reports whether err is a signing error that comes from the options and the
// key, not from the module: a usage error (exit 2) for sign, and one preflight stops on.
func optionError(err error) bool {
	for _, target := range []error{formats.ErrHash, formats.ErrKeyType, formats.ErrVariant, formats.ErrUntimed,
		formats.ErrReadOnly, keys.ErrNoSKID, conv.ErrUnverifiable} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// sampleName is the file name preflight's sample is signed under; unnamed takes it out of
// the messages, which are about the options, not about that file.
const sampleName = "sample.ko"

// unnamed returns err with a leading "name: " taken out of its message; errors.Is still
// sees what it wraps.
func unnamed(err error, name string) error {
	if err == nil {
		return nil
	}
	return unnamedError{err, name + ": "}
}

type unnamedError struct {
	err    error
	prefix string
}

func (u unnamedError) Error() string { return strings.TrimPrefix(u.err.Error(), u.prefix) }
func (u unnamedError) Unwrap() error { return u.err }
