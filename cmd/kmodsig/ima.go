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
	ImaKeyFlags
	Files []string `arg:"" name:"FILE" help:"Files to sign."`
}

// ImaKeyFlags are KeyFlags as they apply to a digsig signature of a file, with help that
// says so: sign's --keyid and --kernel have no meaning for a security.ima value and are not
// offered.
type ImaKeyFlags struct {
	Key       string `required:"" help:"Private key: PEM/DER (PKCS#1, PKCS#8, SEC1), key+cert PEM, gpg secret key export, or a pkcs11: URI. Passphrase/PIN from KBUILD_SIGN_PIN."`
	Cert      string `help:"X.509 certificate (PEM or DER) for the key, whose subjectKeyIdentifier names the key in v2 signatures; derived deterministically when absent."`
	Hash      string `predictor:"hash" help:"Digest: v1 sha1 or sha256; v2 any of sha1, sha224, sha256, sha384, sha512 (evmctl -a). Default sha1 (v1), sha256 (v2)."`
	Variant   string `help:"Signature version: v1 (RSA, evmctl --rsa) or v2 (default of evmctl; RSA or ECDSA). Default v1."`
	Time      string `help:"v1 signature time (RFC 3339 or Unix seconds); refused for v2, which has none. Default: the key material's fixed time."`
	Force     bool   `help:"Sign even where the era's kernel could not verify the key type or hash."`
	Randomize bool   `help:"Draw ECDSA nonces at random instead of deriving them by RFC 6979; the same inputs then no longer give the same bytes."`
}

// flags is f as the KeyFlags sign takes.
func (f *ImaKeyFlags) flags() KeyFlags {
	return KeyFlags{Key: f.Key, Cert: f.Cert, Hash: f.Hash, Variant: f.Variant, Time: f.Time,
		Force: f.Force, Randomize: f.Randomize}
}

func (c *ImaSignCmd) Run(e *env) error {
	kf := c.flags()
	k, err := kf.material()
	if err != nil {
		return usage(err)
	}
	defer k.Close()
	o, err := kf.options(e)
	if err != nil {
		return usage(err)
	}
	if err := preflight(&kf, o, func(o formats.SignOptions) error {
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
