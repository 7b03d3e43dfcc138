//go:build linux

package kerneltest

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/vectors"
)

// vectorKernel is the kernel model of the manifest groups this kernel judges.
const vectorKernel = "linux-6.1"

// postSigErrno is what the test kernel returns for a committed vector whose signature check
// passed (or was forgiven when permissive): the vectors' module, testdata/modules/hello.ko, was
// built for Debian's 6.1.0-56-amd64 ("SMP preempt mod_unload modversions"), not for this
// tinyconfig kernel. Linux 6.1's load_module runs module_sig_check first and only then
// elf_validity_check, setup_load_info and layout_and_allocate -> check_modinfo, whose vermagic
// comparison fails with ENOEXEC and prints vermagicMsg. A manifest "OK" therefore shows as
// ENOEXEC together with that message.
const (
	postSigErrno = formats.Errno("ENOEXEC")
	vermagicMsg  = "hello: version magic '6.1.0-56-amd64 "
)

// elfHeaderMsg begins what elf_validity_check prints when it refuses the ELF header ("Invalid
// ELF header magic: != ELF", "Invalid ELF header type: 2 != 1"): a manifest ENOEXEC (the
// NotRelocatableELF vectors) must come with it, and without vermagicMsg, which only a module
// that got past the ELF checks can print.
const elfHeaderMsg = "Invalid ELF header"

// rejectedNotice is module_sig_check's notice when enforcing turns a forgivable error into
// EKEYREJECTED ("Loading of %s is rejected"), by the manifest outcome that error stands for:
// -ENODATA (no marker), -ENOKEY (no trusted key), -ENOPKG (unsupported crypto or id_type).
var rejectedNotice = map[string]string{
	string(formats.Unsigned):    "Loading of unsigned module is rejected",
	string(formats.UnknownKey):  "Loading of module with unavailable key is rejected",
	string(formats.Unsupported): "Loading of module with unsupported crypto is rejected",
}

// vectorCase is one test of a manifest group judged by linux-6.1.
type vectorCase struct {
	name   string // file name in the guest (without .ko): v<tcId>-<format>-<base>
	path   string // the committed artifact
	group  *vectors.Group
	test   *vectors.Test
	reason string // why the case is not compared ("" = compared)
}

// loadVectors returns the committed vectors this kernel judges (vectorCases), failing the
// test when they cannot be read, and logs each group that is not compared.
func (h *harness) loadVectors() []*vectorCase {
	h.t.Helper()
	certs, err := kernelCertsDER(h.keys)
	if err != nil {
		h.t.Fatal(err)
	}
	cases, err := vectorCases(filepath.Join(h.root, "testdata", "vectors"), certs)
	if err != nil {
		h.t.Fatal(err)
	}
	logged := map[*vectors.Group]bool{}
	for _, c := range cases {
		if c.reason != "" && !logged[c.group] {
			logged[c.group] = true
			h.t.Logf("vector group %s/%s key %s not compared: %s", c.group.Format, c.group.Kernel, c.group.Key.Name, c.reason)
		}
	}
	return cases
}

// vectorCases reads dir/manifest.json (testdata/vectors) and returns every test of the groups
// whose kernel is linux-6.1 (pkcs7, and the x509 group fed to 6.1), in tcId order. A group
// whose keyring is not a subset of the certificates built into the kernel (kernelCerts, DER)
// is kept with a reason and not compared: the kernel's answer depends on the keys it trusts.
func vectorCases(dir string, kernelCerts [][]byte) ([]*vectorCase, error) {
	b, err := os.ReadFile(filepath.Join(dir, vectors.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("committed vectors: %w", err)
	}
	var m vectors.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", vectors.ManifestFile, err)
	}
	var cases []*vectorCase
	for _, g := range m.TestGroups {
		if g.Kernel != vectorKernel {
			continue
		}
		reason := groupTrust(dir, g, kernelCerts)
		for _, t := range g.Tests {
			base := strings.TrimSuffix(filepath.Base(t.File), ".ko")
			cases = append(cases, &vectorCase{
				name:   fmt.Sprintf("v%03d-%s-%s", t.TcID, g.Format, base),
				path:   filepath.Join(dir, filepath.FromSlash(t.File)),
				group:  g,
				test:   t,
				reason: reason,
			})
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no group with kernel %s", vectors.ManifestFile, vectorKernel)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].test.TcID < cases[j].test.TcID })
	return cases, nil
}

// groupTrust returns "" when every keyring file of g is a DER certificate built into the
// kernel, else why not.
func groupTrust(dir string, g *vectors.Group, kernelCerts [][]byte) string {
	if len(g.Key.Keyring) == 0 {
		return "the group has no keyring"
	}
	for _, f := range g.Key.Keyring {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return err.Error()
		}
		found := false
		for _, c := range kernelCerts {
			if bytes.Equal(b, c) {
				found = true
				break
			}
		}
		if !found {
			return f + " is not one of the certificates built into the kernel"
		}
	}
	return ""
}

// kernelCertsDER returns the certificates built into the kernel, as DER, from the PEM files
// in keysDir given to build-kernel.sh (CONFIG_MODULE_SIG_KEY and CONFIG_SYSTEM_TRUSTED_KEYS).
func kernelCertsDER(keysDir string) ([][]byte, error) {
	var certs [][]byte
	for _, f := range append([]string{signingKey}, trustedCerts...) {
		b, err := os.ReadFile(filepath.Join(keysDir, f))
		if err != nil {
			return nil, err
		}
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				certs = append(certs, blk.Bytes)
			}
		}
	}
	// MODULE_SIG_KEY's certificate plus the bundle: rsa4096, ecdsa-p256, ecdsa-p384, expired.
	if len(certs) != 5 {
		return nil, fmt.Errorf("%d certificates in the kernel's key files, want 5", len(certs))
	}
	return certs, nil
}

// checkVectorKeys checks, for every compared group, that the kernel itself reported loading
// the group's certificates at boot: a "Loaded X.509 cert" line naming the certificate's SKID.
func (h *harness) checkVectorKeys(cases []*vectorCase, boot *Boot) {
	h.t.Helper()
	dir := filepath.Join(h.root, "testdata", "vectors")
	seen := map[*vectors.Group]bool{}
	for _, c := range cases {
		if c.reason != "" || seen[c.group] {
			continue
		}
		seen[c.group] = true
		for _, f := range c.group.Key.Keyring {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				h.t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(b)
			if err != nil {
				h.t.Fatalf("%s: %v", f, err)
			}
			skid := hex.EncodeToString(cert.SubjectKeyId)
			loaded := false
			for _, l := range boot.BootLines {
				if strings.Contains(l, "Loaded X.509 cert '") && strings.HasSuffix(l, ": "+skid+"'") {
					loaded = true
				}
			}
			if len(cert.SubjectKeyId) == 0 || !loaded {
				h.t.Errorf("vector group %s/%s: the kernel did not report loading %s (SKID %q)", c.group.Format, c.group.Key.Name, f, skid)
			}
		}
	}
}

// vectorWant maps a manifest errno to what this kernel must return for the committed module:
// OK becomes postSigErrno (the signature check passed, vermagic then refused the module).
func vectorWant(e formats.Errno) formats.Errno {
	if e == formats.ErrnoOK {
		return postSigErrno
	}
	return e
}

// checkVector returns what is wrong with the two boots' results for one vector: each errno
// must be the manifest's (an OK as postSigErrno, with the vermagic message and only then; a
// manifest ENOEXEC with the ELF header message); a vector the manifest has forgiven when
// permissive (OK, or ENOEXEC from the ELF checks after the forgiveness) and EKEYREJECTED when
// enforcing must show module_sig_check's notice for its outcome when enforcing, and no other
// result may show one.
func checkVector(t *vectors.Test, perm, enf *Result) []string {
	var bad []string
	exp := map[string]formats.Errno{"permissive": formats.Errno(t.Permissive), "enforcing": formats.Errno(t.Enforcing)}
	forgiven := (exp["permissive"] == formats.ErrnoOK || exp["permissive"] == formats.ErrnoENOEXEC) &&
		exp["enforcing"] == formats.ErrnoEKEYREJECTED
	for _, m := range []struct {
		mode string
		r    *Result
	}{{"permissive", perm}, {"enforcing", enf}} {
		r := m.r
		want := vectorWant(exp[m.mode])
		if r.Errno != want {
			bad = append(bad, fmt.Sprintf("%s: manifest %s (here %s), the kernel returned %s", m.mode, exp[m.mode], want, r.Errno))
		}
		hasMagic := containsLine(r.Dmesg, vermagicMsg)
		wantMagic := exp[m.mode] == formats.ErrnoOK
		switch {
		case r.Errno == postSigErrno && wantMagic && !hasMagic:
			// ENOEXEC from anything but the vermagic check would not prove that the
			// signature check passed.
			bad = append(bad, fmt.Sprintf("%s: %s without the %q message", m.mode, postSigErrno, vermagicMsg))
		case hasMagic && (r.Errno != postSigErrno || !wantMagic):
			bad = append(bad, fmt.Sprintf("%s: %s with the %q message", m.mode, r.Errno, vermagicMsg))
		case exp[m.mode] == formats.ErrnoENOEXEC && !containsLine(r.Dmesg, elfHeaderMsg):
			bad = append(bad, fmt.Sprintf("%s: %s without the %q message", m.mode, r.Errno, elfHeaderMsg))
		}
		if r.Errno == formats.ErrnoOK {
			bad = append(bad, fmt.Sprintf("%s: the kernel loaded a module built for another kernel (taint %q)", m.mode, r.ModTaint))
		}
		notice := ""
		if forgiven && m.mode == "enforcing" {
			notice = rejectedNotice[t.Outcome]
			if notice == "" {
				bad = append(bad, fmt.Sprintf("no module_sig_check notice known for outcome %q", t.Outcome))
			}
		}
		for _, l := range r.Dmesg {
			if strings.Contains(l, "Loading of ") && strings.Contains(l, " is rejected") && (notice == "" || !strings.Contains(l, notice)) {
				bad = append(bad, fmt.Sprintf("%s: unexpected notice %q", m.mode, l))
			}
		}
		if notice != "" && !containsLine(r.Dmesg, notice) {
			bad = append(bad, fmt.Sprintf("%s: no %q notice for outcome %s", m.mode, notice, t.Outcome))
		}
	}
	return bad
}

// compareVectors checks each committed vector's real errno against the manifest (mapped by
// vectorWant) and against kmodsig's prediction with the kernel's keyring, and prints the table.
func (h *harness) compareVectors(cases []*vectorCase, pred map[string]prediction, boots map[string]*Boot) {
	h.t.Helper()
	perm, enf := boots["permissive"], boots["enforcing"]
	var table strings.Builder
	row := "%-42s %-13s %-12s %-12s | %-12s %-12s | %-12s %-12s %s\n"
	fmt.Fprintf(&table, row, "vector", "outcome", "exp perm", "exp enf", "kmodsig perm", "kmodsig enf", "real perm", "real enf", "")
	compared, skipped := 0, 0
	for _, c := range cases {
		rp, re := perm.Result(c.name), enf.Result(c.name)
		p, ok := pred[c.name]
		if !ok || rp == nil || re == nil {
			h.t.Errorf("vector %s: prediction present %v, permissive result %v, enforcing result %v", c.name, ok, rp != nil, re != nil)
			continue
		}
		exp := [2]formats.Errno{formats.Errno(c.test.Permissive), formats.Errno(c.test.Enforcing)}
		mark := "ok"
		var bad []string
		switch {
		case c.reason != "":
			mark = "skipped: " + c.reason
		case p.Permissive != exp[0] || p.Enforcing != exp[1] || p.Outcome != c.test.Outcome:
			// vectors' own tests check kmodsig against the manifest with the group's
			// keyring; a different verdict with the kernel's keyring means the extra
			// trusted keys change the answer, so the manifest is not this kernel's.
			mark = "skipped: the kernel's keyring changes kmodsig's verdict"
		default:
			bad = checkVector(c.test, rp, re)
			if len(bad) > 0 {
				mark = "MISMATCH"
			}
		}
		if strings.HasPrefix(mark, "skipped") {
			skipped++
		} else {
			compared++
		}
		fmt.Fprintf(&table, row, c.name, c.test.Outcome, exp[0], exp[1], p.Permissive, p.Enforcing, rp.Errno, re.Errno, mark)
		if len(bad) > 0 {
			h.t.Errorf("vector tcId %d %s (%s; group %s/%s key %s):\n  %s\n  manifest: %s %s/%s; kmodsig: %s %s: %s\n  permissive console: insmod: %s\n    %s\n  enforcing console: insmod: %s\n    %s",
				c.test.TcID, c.test.File, c.test.Comment, c.group.Format, c.group.Kernel, c.group.Key.Name,
				strings.Join(bad, "\n  "), c.test.Outcome, exp[0], exp[1], p.Format, p.Outcome, p.Reason,
				rp.Message, strings.Join(rp.Dmesg, "\n    "), re.Message, strings.Join(re.Dmesg, "\n    "))
		}
	}
	h.t.Logf("committed vectors (testdata/vectors, groups judged by %s) vs Linux 6.1 in qemu: %d compared, %d skipped.\n"+
		"exp = manifest; kmodsig = `kmodsig verify --kernel %s` with the kernel's certificates; real = the kernel.\n"+
		"hello.ko was built for Debian 6.1.0-56-amd64, so an expected OK must show as %s with the vermagic message\n"+
		"(module_sig_check passed, check_modinfo refused the module); every other errno must match exactly.\n%s",
		vectorKernel, compared, skipped, vectorKernel, postSigErrno, table.String())
}

// TestVectorsRealLogs checks the committed vectors against the kernel's answers kept in
// testdata/serial-*.log (two real boots of TestKernel), without qemu: every linux-6.1 vector
// has a result in both boots and checkVector accepts it. Then it corrupts each real result in
// the ways checkVector exists to catch and requires a complaint for each, so the mapping of an
// expected OK to postSigErrno cannot hide a wrong answer.
func TestVectorsRealLogs(t *testing.T) {
	certs, err := kernelCertsDER(filepath.Join("..", "testdata", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := vectorCases(filepath.Join("..", "testdata", "vectors"), certs)
	if err != nil {
		t.Fatal(err)
	}
	boots := map[string]*Boot{}
	for _, mode := range []string{"permissive", "enforcing"} {
		f, err := os.Open(filepath.Join("testdata", "serial-"+mode+".log"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseSerial(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		boots[mode] = b
	}
	for _, c := range cases {
		if c.reason != "" {
			t.Errorf("%s: group not compared: %s (every linux-6.1 group's key is built into the kernel)", c.name, c.reason)
			continue
		}
		rp, re := boots["permissive"].Result(c.name), boots["enforcing"].Result(c.name)
		if rp == nil || re == nil {
			t.Errorf("%s: no result in the committed logs (refresh them with KMODSIG_KERNEL_OUT)", c.name)
			continue
		}
		if bad := checkVector(c.test, rp, re); len(bad) > 0 {
			t.Errorf("%s: %s", c.name, strings.Join(bad, "; "))
		}
		mutations := map[string]func(p, e *Result){
			"errno changed": func(p, e *Result) {
				if e.Errno == postSigErrno {
					e.Errno = formats.ErrnoEKEYREJECTED
				} else {
					e.Errno = postSigErrno
				}
			},
			"loaded": func(p, e *Result) { p.Errno, p.Dmesg = formats.ErrnoOK, nil },
			"ENOEXEC without vermagic": func(p, e *Result) {
				p.Errno, p.Dmesg = postSigErrno, []string{"hello: No module found in object"}
			},
			"ELF refusal message lost": func(p, e *Result) {
				p.Dmesg = nil
				if c.test.Permissive != string(formats.ErrnoENOEXEC) {
					// any other vector: an errno change instead
					if p.Errno == formats.ErrnoEBADMSG {
						p.Errno = formats.ErrnoEKEYREJECTED
					} else {
						p.Errno = formats.ErrnoEBADMSG
					}
				}
			},
			"vermagic after a refusal": func(p, e *Result) {
				e.Errno, e.Dmesg = formats.ErrnoEKEYREJECTED, append(e.Dmesg, vermagicMsg+"...' should be '6.1.192 mod_unload '")
			},
			"another notice": func(p, e *Result) {
				for o, n := range rejectedNotice {
					if o != c.test.Outcome {
						e.Dmesg = []string{n}
						break
					}
				}
			},
		}
		for what, mutate := range mutations {
			p, e := *rp, *re
			p.Dmesg, e.Dmesg = append([]string(nil), rp.Dmesg...), append([]string(nil), re.Dmesg...)
			mutate(&p, &e)
			if len(checkVector(c.test, &p, &e)) == 0 {
				t.Errorf("%s: %s: checkVector saw nothing wrong", c.name, what)
			}
		}
	}
}
