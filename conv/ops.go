package conv

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

// MaxLayers bounds how many nested signatures are peeled off one module (sign-file run on
// an already signed module nests trailers; a real module has one, rarely two).
const MaxLayers = 16

// Layer is one signature found in a module, outermost first.
type Layer struct {
	Driver    formats.Driver
	Signature *formats.Signature
	Err       error // Parse error: the layer is corrupt
}

// Layers detects and parses every signature of m, outermost first. Appended signatures are
// peeled by looking at the prefix before them (no copy); section signatures by stripping.
// A corrupt layer ends the walk.
func Layers(m formats.Module) []Layer {
	var out []Layer
	for len(out) < MaxLayers {
		d := formats.Detect(m)
		if d == nil {
			break
		}
		sig, err := d.Parse(m)
		out = append(out, Layer{Driver: d, Signature: sig, Err: err})
		if err != nil {
			break
		}
		if appended(sig, m) {
			m = m.Prefix(sig.PayloadLen)
			continue
		}
		b, err := d.Strip(m)
		if err != nil {
			break
		}
		m = formats.NewModule(m.Name, b)
	}
	return out
}

// appended reports whether sig is appended to m: it ends the file and what it signs is the
// prefix before it, so the layer is removed by narrowing the view of m to that prefix.
func appended(sig *formats.Signature, m formats.Module) bool {
	return sig.Offset+sig.Length == m.Size && sig.PayloadLen > 0 && sig.PayloadLen <= sig.Offset
}

// StripAll removes every signature from m and returns the unsigned module and the ids of
// the formats removed, outermost first. Appended signatures are peeled off by narrowing the
// view of m (no copy per layer); the module is read into memory once, at the end, or by
// the first section format's Strip.
func StripAll(m formats.Module) ([]byte, []string, error) {
	return stripAll(m, nil)
}

// stripAll is StripAll over m, whose bytes are b when the caller has them in memory (nil
// otherwise). With b, an unsigned or appended-only module is returned as a subslice of b
// without copying; its capacity is cut to its length so that appending to it (a driver's
// Sign) never writes into b.
func stripAll(m formats.Module, b []byte) ([]byte, []string, error) {
	var removed []string
	for i := 0; i < MaxLayers; i++ {
		d := formats.Detect(m)
		if d == nil {
			break
		}
		if sig, err := d.Parse(m); err == nil && appended(sig, m) {
			removed = append(removed, d.ID())
			m = m.Prefix(sig.PayloadLen)
			if b != nil {
				b = b[:sig.PayloadLen:sig.PayloadLen]
			}
			continue
		}
		nb, err := d.Strip(m)
		if err != nil {
			return nil, removed, err
		}
		removed = append(removed, d.ID())
		b = nb
		m = formats.NewModule(m.Name, nb)
	}
	if b == nil {
		nb, err := m.Bytes()
		if err != nil {
			return nil, nil, err
		}
		b = nb
	}
	return b[:len(b):len(b)], removed, nil
}

// DefaultUnsignedFormat is the format whose era judges a module that carries no signature
// at all: a modern kernel (Linux 6.1: Ok with taint when permissive, EKEYREJECTED enforcing).
const DefaultUnsignedFormat = "pkcs7"

// UnsignedJudge returns the format whose driver models kernel (a Policy.Kernel name such as
// "linux-6.1", "rhel5", "gkh2004-article"): the era that judges a module with no signature.
func UnsignedJudge(kernel string) string {
	switch {
	case strings.HasPrefix(kernel, "gkh2004"):
		return "gkh2004"
	case kernel == "rhel4" || kernel == "rhel5":
		return "rhel5"
	case kernel == "rhel6" || strings.HasPrefix(kernel, "fedora2012"):
		return "rhel6"
	case strings.HasPrefix(kernel, "howells-2012"):
		return "gpg2012"
	case strings.HasPrefix(kernel, "modsig-rfc"):
		return "digsig2012"
	}
	return DefaultUnsignedFormat // "", "linux-X.Y": the pkcs7 driver models every mainline kernel
}

// Verify checks m against ring the way a kernel would, in permissive and enforcing mode.
//
// With no p.Kernel, the kernel is one of the era of m's outermost signature (each driver's
// default model); an unsigned module is judged by the era of policyFormat if set, else by a
// modern kernel (DefaultUnsignedFormat).
//
// With p.Kernel set, the kernel is that one, and a kernel reads only its own era's
// signatures: a mainline kernel (linux-X.Y) the module_signature trailers (pkcs7, x509,
// pgp-trailer), every older kernel only its own format. A module whose outermost signature
// that kernel does not read is judged by the driver of the kernel's era (UnsignedJudge, or
// policyFormat), which finds its own signature inside (an ELF section under an appended
// trailer) or none: the module is then unsigned to that kernel, whatever else it carries. A
// real Linux 6.1 kernel loads gpg2012, digsig2012, gkh2004, rhel5 and rhel6 modules exactly
// like unsigned ones (kerneltest).
func Verify(m formats.Module, ring *keys.Ring, p formats.Policy, policyFormat string) formats.Verdict {
	d := formats.Detect(m)
	v := verifySig(m, d, ring, p, policyFormat)
	notELF(m, d, &v)
	return v
}

// sectionFormats keep their signature inside the ELF object: the kernel reads the whole file.
var sectionFormats = map[string]bool{"gkh2004": true, "rhel5": true, "rhel6": true}

// notELF turns an "OK" of v into ENOEXEC when the module, as the kernel sees it once the
// signature is taken off, is not a relocatable ELF object (formats.ELFHeaderRefusal): the
// signature check passes, or is forgiven, and the kernel refuses the object right after it.
// The outcome stays what the signature is.
func notELF(m formats.Module, d formats.Driver, v *formats.Verdict) {
	if v.Permissive != formats.ErrnoOK && v.Enforcing != formats.ErrnoOK {
		return
	}
	// What the kernel sees is the payload: the module_signature trailer's (cheap: its last 40
	// bytes) when there is one, else the driver's parse.
	n := m.Size
	if d != nil && !sectionFormats[d.ID()] {
		if t, err := formats.ParseModSig(m, d.ID()); err == nil {
			n = t.PayloadLen
		} else if sig, err := d.Parse(m); err == nil && sig.PayloadLen > 0 {
			n = sig.PayloadLen
		}
	}
	why := formats.ELFHeaderRefusal(m, n)
	if why == "" {
		return
	}
	if v.Permissive == formats.ErrnoOK {
		v.Permissive = formats.ErrnoENOEXEC
		// The taint comes later in load_module, with the module's struct: a module refused
		// here taints nothing (the drivers' notes say "loads with taint E").
		notes := v.Notes[:0:0]
		for _, note := range v.Notes {
			if !strings.HasPrefix(note, "loads with taint") {
				notes = append(notes, note)
			}
		}
		v.Notes = notes
	}
	if v.Enforcing == formats.ErrnoOK {
		v.Enforcing = formats.ErrnoENOEXEC
	}
	v.Notes = append(v.Notes, "the kernel refuses it after the signature check (ENOEXEC): "+why)
}

// verifySig is Verify's signature check: the verdict of the format's era, or of the kernel
// model's when p names one.
func verifySig(m formats.Module, d formats.Driver, ring *keys.Ring, p formats.Policy, policyFormat string) formats.Verdict {
	judge := policyFormat
	if judge == "" {
		judge = UnsignedJudge(p.Kernel)
	}
	if d != nil && (p.Kernel == "" || kernelReads(p.Kernel, judge, d.ID())) {
		return d.Verify(m, ring, p)
	}
	jd, err := formats.Lookup(judge)
	if err != nil {
		return formats.Verdict{Format: "none", Outcome: formats.Unsigned, Permissive: formats.ErrnoOK,
			Enforcing: formats.ErrnoEKEYREJECTED, Reason: "module carries no signature", Err: err}
	}
	v := jd.Verify(m, ring, p)
	switch {
	case d == nil:
		v.Format = "none"
	case v.Outcome == formats.Unsigned:
		v.Format = d.ID()
		v.Reason = fmt.Sprintf("%s signature, which a %s kernel does not read: %s", d.ID(), p.Kernel, v.Reason)
	}
	return v
}

// KernelReads reports whether a kernel of the named model (a Policy.Kernel name) reads
// signatures of format id at all: a mainline kernel the module_signature trailers, an older
// one only its own era's format.
func KernelReads(kernel, id string) bool { return kernelReads(kernel, UnsignedJudge(kernel), id) }

// kernelReads is KernelReads for a model whose era's format is judge.
func kernelReads(kernel, judge, id string) bool {
	if strings.HasPrefix(kernel, "linux-") {
		return id == "pkcs7" || id == "x509" || id == "pgp-trailer"
	}
	return id == judge
}

// SignResult says what Sign did.
type SignResult struct {
	Signed   []byte   // the signed module, decompressed
	Replaced []string // formats of the signatures removed first
	Verdict  formats.Verdict
}

// ErrSelfCheck reports a freshly signed module that our own verifier does not accept.
var ErrSelfCheck = errors.New("signed module failed verification")

// ErrUnverifiable reports a signature the kernel model of the check (SignOptions.Kernel, or
// the format's era) cannot verify at all: a hash or key type it lacks (SHA-3 before Linux
// 6.7, say). It is not written unless SignOptions.Force is set.
var ErrUnverifiable = errors.New("the kernel cannot verify this signature")

// ErrNoModule reports a file with nothing to sign: empty, or nothing but a signature.
// (sign-file signs an empty file; the result is a signature over nothing, which no kernel
// loads and which kmodsig's own check refused with a puzzling message.)
var ErrNoModule = errors.New("no module to sign")

// Sign removes any existing signature from module (sign-file would stack a second one; we do
// not), signs it in format id with k, and verifies the result with kmodsig's own verifier
// against k's public forms before returning it.
func Sign(name string, module []byte, id string, k *keys.Material, o formats.SignOptions) (*SignResult, error) {
	o.InPlace = false
	return sign(name, module, id, k, o)
}

// sign is Sign; with o.InPlace the caller gives module up, and an appending driver may build
// the result in its spare capacity (the batch reads each module with room for a signature).
func sign(name string, module []byte, id string, k *keys.Material, o formats.SignOptions) (*SignResult, error) {
	d, err := formats.Lookup(id)
	if err != nil {
		return nil, err
	}
	unsigned, removed, err := stripAll(formats.NewModule(name, module), module)
	if err == nil && o.InPlace && len(module) > 0 && len(unsigned) > 0 && &unsigned[0] == &module[0] {
		unsigned = module[:len(unsigned)] // the prefix of module: give its capacity back
	}
	if err != nil {
		return nil, err
	}
	if len(unsigned) == 0 {
		if len(removed) == 0 {
			return nil, fmt.Errorf("%s: %w: the file is empty", name, ErrNoModule)
		}
		return nil, fmt.Errorf("%s: %w: nothing but a %s signature", name, ErrNoModule, strings.Join(removed, ", "))
	}
	// The signer records its payload digests and the self-check reuses them for the payload
	// bytes it finds equal (formats.DigestMemo): one hashing pass instead of two.
	memo := &formats.DigestMemo{}
	o.Digests = memo
	signed, err := d.Sign(unsigned, k, o)
	if err != nil {
		if strings.HasPrefix(err.Error(), id+": ") {
			// The driver named itself (the ELF-era drivers do): not twice.
			return nil, fmt.Errorf("%s: sign %w", name, err)
		}
		return nil, fmt.Errorf("%s: sign %s: %w", name, id, err)
	}
	out := formats.NewModule(name, signed)
	out.Digests = memo
	v := d.Verify(out, selfCheckRing(k, o), formats.Policy{Kernel: o.Kernel})
	switch {
	case v.Outcome == formats.OK:
	case v.Outcome == formats.Unsupported && o.Force:
		// --force: the era's kernel cannot check this (a hash or key type it lacks), so our
		// model of it cannot either; written as asked, with a warning.
		o.Warnf("%s: written with --force, but %s cannot verify it: %s", name, v.Kernel, v.Reason)
	case v.Outcome == formats.Unsupported:
		return nil, fmt.Errorf("%s: %w: %s: %s (--kernel names a kernel that can; --force signs anyway)", name, ErrUnverifiable, v.Kernel, v.Reason)
	default:
		return nil, fmt.Errorf("%s: %w: %s: %s", name, ErrSelfCheck, v.Outcome, v.Reason)
	}
	return &SignResult{Signed: signed, Replaced: removed, Verdict: v}, nil
}

// selfCheckRing is the keyring Sign checks a signature it made with o against: SelfRing(k),
// and with o.Deterministic it also demands that an ECDSA signature carry its RFC 6979 nonce
// (keys.Ring.DeterministicECDSA), so that a faulty signature is caught even when it verifies.
func selfCheckRing(k *keys.Material, o formats.SignOptions) *keys.Ring {
	ring := SelfRing(k)
	ring.DeterministicECDSA = o.Deterministic
	return ring
}

// SelfRing returns a keyring that trusts k in every form it has (after signing, the forms the
// driver derived): what verifying our own output needs.
func SelfRing(k *keys.Material) *keys.Ring {
	ring := &keys.Ring{}
	ring.AddMaterial(k)
	ring.Keys = append(ring.Keys, k.Public())
	ring.Secrets = append(ring.Secrets, k)
	return ring
}
