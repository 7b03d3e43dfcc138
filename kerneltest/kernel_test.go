//go:build linux

package kerneltest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
)

// The certificates built into the test kernel, relative to testdata/keys: the first is
// CONFIG_MODULE_SIG_KEY (key + certificate), the rest form CONFIG_SYSTEM_TRUSTED_KEYS. The
// expired certificate is trusted on purpose (see the package doc).
var (
	signingKey   = "rsa2048.pem"
	trustedCerts = []string{"trusted.crt", "expired-rsa2048.crt"}
	// predictionRing is exactly what the kernel trusts, as certificates.
	predictionRing = []string{"rsa2048.crt", "trusted.crt", "expired-rsa2048.crt"}
)

// bootTimeout bounds one qemu boot (TCG boots in seconds; the machine may be loaded).
const bootTimeout = 5 * time.Minute

// variant is one module the kernel loads. The file name (name + ".ko") sets the load order.
type variant struct {
	name string
	how  string
	// from names the variant whose bytes this one starts from; "" is the unsigned module.
	from string
	// cmd is the kmodsig command that makes the variant from the base ("IN" and "OUT" are
	// replaced by paths, "KEYS/" by the key directory); nil copies the base.
	cmd []string
	// edit changes the bytes after cmd (tampering); nil leaves them.
	edit func(b []byte) ([]byte, error)
	// optional variants are skipped with a log line when kmodsig refuses to make them (the
	// SHA-3 ones: `kmodsig sign --force` still refuses a hash the default kernel model cannot
	// verify). Every other variant must be made.
	optional bool
}

func pkcs7(key, cert, hash string, extra ...string) []string {
	c := []string{"sign", "--format", "pkcs7", "--key", "KEYS/" + key}
	if cert != "" {
		c = append(c, "--cert", "KEYS/"+cert)
	}
	c = append(c, "--hash", hash)
	c = append(c, extra...)
	return append(c, "-o", "OUT", "IN")
}

// variants is the table of what the kernel is asked to load. Every signed variant is made by
// kmodsig; tampered ones are kmodsig's output with bytes changed here.
var variants = []variant{
	{name: "01-rsa2048-sha256", how: "pkcs7, RSA-2048 (MODULE_SIG_KEY), SHA-256, issuer+serial", cmd: pkcs7("rsa2048.pem", "", "sha256")},
	{name: "02-rsa2048-sha1", how: "pkcs7, RSA-2048, SHA-1", cmd: pkcs7("rsa2048.pem", "", "sha1")},
	{name: "03-rsa2048-sha224", how: "pkcs7, RSA-2048, SHA-224", cmd: pkcs7("rsa2048.pem", "", "sha224")},
	{name: "04-rsa2048-sha384", how: "pkcs7, RSA-2048, SHA-384", cmd: pkcs7("rsa2048.pem", "", "sha384")},
	{name: "05-rsa2048-sha512", how: "pkcs7, RSA-2048, SHA-512", cmd: pkcs7("rsa2048.pem", "", "sha512")},
	{name: "06-rsa2048-sha256-keyid", how: "pkcs7, RSA-2048, SHA-256, SKID (--keyid)", cmd: pkcs7("rsa2048.pem", "", "sha256", "--keyid")},
	{name: "07-rsa4096-sha256", how: "pkcs7, RSA-4096 (SYSTEM_TRUSTED_KEYS), SHA-256, --key + --cert", cmd: pkcs7("rsa4096.key", "rsa4096.crt", "sha256")},
	{name: "08-rsa4096-sha512-keyid", how: "pkcs7, RSA-4096, SHA-512, SKID", cmd: pkcs7("rsa4096.pem", "", "sha512", "--keyid")},
	{name: "09-ecdsa-p256-sha256", how: "pkcs7, ECDSA P-256, SHA-256", cmd: pkcs7("ecdsa-p256.pem", "", "sha256")},
	{name: "10-ecdsa-p384-sha384", how: "pkcs7, ECDSA P-384, SHA-384", cmd: pkcs7("ecdsa-p384.pem", "", "sha384")},
	{name: "11-ecdsa-p256-sha512-keyid", how: "pkcs7, ECDSA P-256, SHA-512, SKID", cmd: pkcs7("ecdsa-p256.key", "ecdsa-p256.crt", "sha512", "--keyid")},
	{name: "12-ecdsa-p384-sha1", how: "pkcs7, ECDSA P-384, SHA-1", cmd: pkcs7("ecdsa-p384.pem", "", "sha1")},
	{name: "13-unsigned", how: "kmodsig strip of the built module", cmd: []string{"strip", "-o", "OUT", "IN"}},
	{name: "14-untrusted-rsa2048", how: "pkcs7, RSA-2048 not built into the kernel", cmd: pkcs7("untrusted-rsa2048.pem", "", "sha256")},
	{name: "15-expired-rsa2048", how: "pkcs7, RSA-2048 with a certificate expired in 2001 (trusted)", cmd: pkcs7("expired-rsa2048.pem", "", "sha256")},
	{name: "16-tampered-payload", how: "01 with one .modinfo description byte flipped", from: "01-rsa2048-sha256", edit: flipPayload},
	{name: "17-tampered-sig-rsa", how: "01 with the last byte of the RSA value flipped", from: "01-rsa2048-sha256", edit: flipSignature},
	{name: "18-tampered-sig-ecdsa", how: "09 with the last byte of the ECDSA value flipped", from: "09-ecdsa-p256-sha256", edit: flipSignature},
	{name: "19-trailer-siglen-plus1", how: "01 with sig_len one too large", from: "01-rsa2048-sha256", edit: addSigLen(1)},
	{name: "20-trailer-siglen-huge", how: "01 with sig_len + 100000000", from: "01-rsa2048-sha256", edit: addSigLen(100000000)},
	{name: "21-trailer-siglen-minus1", how: "01 with sig_len one too small", from: "01-rsa2048-sha256", edit: addSigLen(-1)},
	{name: "22-trailer-hash-byte", how: "01 with module_signature.hash = 4", from: "01-rsa2048-sha256", edit: setTrailerByte(1, 4)},
	{name: "23-trailer-id-type-1", how: "01 (a CMS) with module_signature.id_type = 1", from: "01-rsa2048-sha256", edit: setTrailerByte(2, 1)},
	{name: "24-trailer-marker", how: "01 with the marker's last byte changed (no marker at EOF)", from: "01-rsa2048-sha256", edit: breakMarker},
	{name: "25-cms-outer-tag", how: "01 with the outer CMS tag 30 -> 31", from: "01-rsa2048-sha256", edit: cmsOuterTag},
	{name: "26-resigned", how: "kmodsig sign pkcs7 run on 07 with the RSA-2048 key", from: "07-rsa4096-sha256", cmd: pkcs7("rsa2048.pem", "", "sha256")},
	{name: "27-x509-rsa2048", how: "x509 (Linux 3.7) format, RSA-2048, SHA-256", cmd: []string{"sign", "--format", "x509", "--key", "KEYS/rsa2048.pem", "--hash", "sha256", "-o", "OUT", "IN"}},
	{name: "28-convert-x509-to-pkcs7", how: "kmodsig convert --to pkcs7 of 27", from: "27-x509-rsa2048", cmd: []string{"convert", "--to", "pkcs7", "--key", "KEYS/rsa2048.pem", "--hash", "sha256", "-o", "OUT", "IN"}},
	{name: "29-gpg2012", how: "gpg2012 (Howells 2012) trailer, RSA-2048", cmd: []string{"sign", "--format", "gpg2012", "--key", "KEYS/rsa2048.pem", "-o", "OUT", "IN"}},
	{name: "30-convert-gpg2012-to-pkcs7", how: "kmodsig convert --to pkcs7 of 29, ECDSA P-384", from: "29-gpg2012", cmd: []string{"convert", "--to", "pkcs7", "--key", "KEYS/ecdsa-p384.pem", "--hash", "sha384", "-o", "OUT", "IN"}},
	{name: "31-digsig2012", how: "digsig2012 (Kasatkin 2012) trailer, RSA-2048", cmd: []string{"sign", "--format", "digsig2012", "--key", "KEYS/rsa2048.pem", "-o", "OUT", "IN"}},
	{name: "32-rhel6", how: "rhel6 ELF note, RSA-2048", cmd: []string{"sign", "--format", "rhel6", "--variant", "rsa", "--key", "KEYS/rsa2048.pem", "-o", "OUT", "IN"}},
	{name: "33-gkh2004", how: "gkh2004 ELF section module_sig, RSA-2048", cmd: []string{"sign", "--format", "gkh2004", "--key", "KEYS/rsa2048.pem", "-o", "OUT", "IN"}},
	{name: "34-rhel5", how: "rhel5 ELF section .module_sig, DSA-1024", cmd: []string{"sign", "--format", "rhel5", "--key", "KEYS/dsa1024.key", "-o", "OUT", "IN"}},
	{name: "35-convert-rhel5-to-pkcs7", how: "kmodsig convert --to pkcs7 of 34, RSA-4096", from: "34-rhel5", cmd: []string{"convert", "--to", "pkcs7", "--key", "KEYS/rsa4096.pem", "--hash", "sha256", "-o", "OUT", "IN"}},
	{name: "36-rsa2048-sha3-256", how: "pkcs7, RSA-2048, SHA3-256 (unknown to the 6.1 PKCS#7 parser)", cmd: pkcs7("rsa2048.pem", "", "sha3-256", "--force"), optional: true},
	{name: "37-ecdsa-p384-sha3-384", how: "pkcs7, ECDSA P-384, SHA3-384 (unknown to 6.1)", cmd: pkcs7("ecdsa-p384.pem", "", "sha3-384", "--force"), optional: true},
	// Not a relocatable ELF object, signed or not: the signature check passes or is forgiven,
	// then the ELF checks refuse the object (formats.ELFHeaderRefusal).
	{name: "38-etype-exec", how: "the unsigned module with e_type ET_EXEC", edit: setEType(2)},
	{name: "39-etype-exec-signed", how: "pkcs7, RSA-2048, SHA-256 over 38", from: "38-etype-exec", cmd: pkcs7("rsa2048.pem", "", "sha256")},
	{name: "40-not-elf", how: "the unsigned module with its ELF magic broken", edit: breakELFMagic},
	{name: "41-not-elf-signed", how: "pkcs7, RSA-2048, SHA-256 over 40", from: "40-not-elf", cmd: pkcs7("rsa2048.pem", "", "sha256")},
}

// trailerLen is module_signature (12 bytes) plus the marker (28 bytes).
const trailerLen = 40

// sigLen returns the CMS length of a module ending in a module_signature trailer.
func sigLen(b []byte) (int, error) {
	if len(b) < trailerLen || string(b[len(b)-28:]) != "~Module signature appended~\n" {
		return 0, errors.New("no module signature trailer")
	}
	n := int(binary.BigEndian.Uint32(b[len(b)-32:]))
	if n > len(b)-trailerLen {
		return 0, errors.New("sig_len beyond the file")
	}
	return n, nil
}

func flipPayload(b []byte) ([]byte, error) {
	i := bytes.Index(b, []byte("description=kmodsig kernel test module"))
	if i < 0 {
		return nil, errors.New("description string not found")
	}
	b[i+len("description=")] ^= 0x20 // 'k' -> 'K'
	return b, nil
}

func flipSignature(b []byte) ([]byte, error) {
	if _, err := sigLen(b); err != nil {
		return nil, err
	}
	b[len(b)-trailerLen-1] ^= 0x01
	return b, nil
}

func addSigLen(d int) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		n, err := sigLen(b)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(b[len(b)-32:], uint32(n+d))
		return b, nil
	}
}

// setEType sets the ELF header's e_type (x86-64: little endian, at offset 16).
func setEType(t uint16) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		if len(b) < 64 || !bytes.HasPrefix(b, []byte("\x7fELF")) {
			return nil, errors.New("not an ELF object")
		}
		binary.LittleEndian.PutUint16(b[16:], t)
		return b, nil
	}
}

func breakELFMagic(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, errors.New("not an ELF object")
	}
	b[1] = 'X'
	return b, nil
}

func setTrailerByte(i int, v byte) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		if _, err := sigLen(b); err != nil {
			return nil, err
		}
		b[len(b)-trailerLen+i] = v
		return b, nil
	}
}

func breakMarker(b []byte) ([]byte, error) {
	if _, err := sigLen(b); err != nil {
		return nil, err
	}
	b[len(b)-1] = '!'
	return b, nil
}

func cmsOuterTag(b []byte) ([]byte, error) {
	n, err := sigLen(b)
	if err != nil {
		return nil, err
	}
	i := len(b) - trailerLen - n
	if b[i] != 0x30 {
		return nil, fmt.Errorf("CMS starts with %#x, not a SEQUENCE", b[i])
	}
	b[i] = 0x31
	return b, nil
}

// prediction is one element of `kmodsig verify --json`.
type prediction struct {
	Path       string        `json:"path"`
	Format     string        `json:"format"`
	Outcome    string        `json:"outcome"`
	Permissive formats.Errno `json:"permissive"`
	Enforcing  formats.Errno `json:"enforcing"`
	Reason     string        `json:"reason"`
}

type harness struct {
	t       *testing.T
	root    string // repository root
	keys    string // testdata/keys
	work    string // t.TempDir()
	kmodsig string // the CLI under test
	cache   string // the kernel cache entry
}

// TestKernel is the real-kernel check described in the package doc.
func TestKernel(t *testing.T) {
	if os.Getenv("KMODSIG_KERNEL_TEST") != "1" {
		t.Skip("real-kernel test not requested: set KMODSIG_KERNEL_TEST=1 (make test does, as root)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, root: root, keys: filepath.Join(root, "testdata", "keys"), work: t.TempDir()}
	for _, f := range append(append([]string{signingKey}, trustedCerts...), predictionRing...) {
		if _, err := os.Stat(filepath.Join(h.keys, f)); err != nil {
			t.Fatalf("test key missing: %v", err)
		}
	}

	if out := os.Getenv("KMODSIG_KERNEL_OUT"); out != "" {
		t.Cleanup(func() { h.keep(out) })
	}

	t0 := time.Now()
	h.buildKernel()
	t.Logf("kernel: %s (ready in %s)", h.cache, time.Since(t0).Round(time.Second))
	h.buildCLI()
	unsigned := h.buildModule()

	t1 := time.Now()
	files, made := h.makeVariants(unsigned)
	t.Logf("variants: %d made in %s", len(made), time.Since(t1).Round(time.Millisecond))
	vcases := h.loadVectors()
	extra := map[string]string{}
	for _, c := range vcases {
		files[c.name] = c.path
		extra[c.name] = c.path
	}
	t.Logf("committed vectors: %d of the groups judged by %s", len(vcases), vectorKernel)
	pred := h.predict(files)
	initrd := h.initramfs(made, extra)

	boots := map[string]*Boot{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mode := range []string{"permissive", "enforcing"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, log, d, err := h.boot(initrd, mode)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s boot: %v\n%s", mode, err, tail(log, 60))
				return
			}
			t.Logf("%s boot: %s wall, guest uptime at the end %s", mode, d.Round(time.Millisecond), b.Uptime)
			boots[mode] = b
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	h.checkBoots(boots, len(made)+len(vcases))
	h.checkVectorKeys(vcases, boots["permissive"])
	h.compare(made, pred, boots)
	h.compareVectors(vcases, pred, boots)
}

// keep copies the variants, the predictions and the serial logs to dir
// (KMODSIG_KERNEL_OUT), for a person to look at or to refresh testdata/serial-*.log.
func (h *harness) keep(dir string) {
	var files []string
	for _, pat := range []string{"mods/*.ko", "serial-*.log", "predictions.json", "initramfs.list"} {
		m, _ := filepath.Glob(filepath.Join(h.work, pat))
		files = append(files, m...)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(h.work, f)
		dst := filepath.Join(dir, rel)
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(dst), 0o755)
		}
		if err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
		if err != nil {
			h.t.Errorf("KMODSIG_KERNEL_OUT: %v", err)
			return
		}
	}
	h.t.Logf("KMODSIG_KERNEL_OUT: %d files kept in %s", len(files), dir)
}

// run runs a command in dir and returns its standard output; it fails the test on error.
func (h *harness) run(dir string, name string, args ...string) []byte {
	h.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, tail(stderr.String(), 40))
	}
	return out
}

func (h *harness) buildKernel() {
	h.t.Helper()
	args := []string{filepath.Join(h.keys, signingKey)}
	for _, c := range trustedCerts {
		args = append(args, filepath.Join(h.keys, c))
	}
	cmd := exec.Command(filepath.Join(h.root, "kerneltest", "build-kernel.sh"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		if peers.Required() {
			h.t.Fatalf("real-kernel test cannot run here although KMODSIG_REQUIRE_PEERS=1: %s", strings.TrimSpace(lastLine(stderr.String())))
		}
		h.t.Skipf("real-kernel test cannot run here: %s", strings.TrimSpace(lastLine(stderr.String())))
	}
	if err != nil {
		h.t.Fatalf("build-kernel.sh: %v\n%s", err, tail(stderr.String(), 60))
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		h.t.Log(s)
	}
	h.cache = strings.TrimSpace(lastLine(string(out)))
	if _, err := os.Stat(filepath.Join(h.cache, "stamp")); err != nil {
		h.t.Fatalf("build-kernel.sh printed %q, which is no cache entry: %v", h.cache, err)
	}
	if stamp, err := os.ReadFile(filepath.Join(h.cache, "stamp")); err == nil {
		h.t.Logf("cache stamp: %s", strings.ReplaceAll(strings.TrimSpace(string(stamp)), "\n", "; "))
	}
}

func (h *harness) buildCLI() {
	h.t.Helper()
	h.kmodsig = filepath.Join(h.work, "kmodsig")
	h.run(h.root, "go", "build", "-o", h.kmodsig, "./cmd/kmodsig")
}

// buildModule builds module/ against the cached tree and returns the .ko path.
func (h *harness) buildModule() string {
	h.t.Helper()
	dir := filepath.Join(h.work, "module")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	for _, f := range []string{"Kbuild", "kmodsig_hello.c"} {
		b, err := os.ReadFile(filepath.Join(h.root, "kerneltest", "module", f))
		if err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	h.run(dir, "make", "-s", "-C", filepath.Join(h.cache, "tree"), "M="+dir, "modules")
	return filepath.Join(dir, "kmodsig_hello.ko")
}

// makeVariants writes every variant into work/mods and returns the file of each variant and
// the names made, in load order.
func (h *harness) makeVariants(unsigned string) (map[string]string, []string) {
	h.t.Helper()
	mods := filepath.Join(h.work, "mods")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		h.t.Fatal(err)
	}
	files := map[string]string{}
	var made []string
	for _, v := range variants {
		in := unsigned
		if v.from != "" {
			var ok bool
			if in, ok = files[v.from]; !ok {
				h.t.Logf("variant %s skipped: its base %s was not made", v.name, v.from)
				continue
			}
		}
		out := filepath.Join(mods, v.name+".ko")
		if v.cmd == nil {
			b, err := os.ReadFile(in)
			if err != nil {
				h.t.Fatal(err)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				h.t.Fatal(err)
			}
		} else {
			args := make([]string, len(v.cmd))
			for i, a := range v.cmd {
				switch {
				case a == "IN":
					a = in
				case a == "OUT":
					a = out
				case strings.HasPrefix(a, "KEYS/"):
					a = filepath.Join(h.keys, strings.TrimPrefix(a, "KEYS/"))
				}
				args[i] = a
			}
			cmd := exec.Command(h.kmodsig, args...)
			msg, err := cmd.CombinedOutput()
			if err != nil {
				if v.optional {
					h.t.Logf("variant %s skipped: kmodsig %s: %v: %s", v.name, strings.Join(v.cmd, " "), err, strings.TrimSpace(string(msg)))
					continue
				}
				h.t.Fatalf("variant %s: kmodsig %s: %v\n%s", v.name, strings.Join(args, " "), err, msg)
			}
		}
		if v.edit != nil {
			b, err := os.ReadFile(out)
			if err != nil {
				h.t.Fatal(err)
			}
			if b, err = v.edit(b); err != nil {
				h.t.Fatalf("variant %s: %v", v.name, err)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				h.t.Fatal(err)
			}
		}
		files[v.name] = out
		made = append(made, v.name)
	}
	sort.Strings(made)
	return files, made
}

// predict runs `kmodsig verify --kernel linux-6.1 --json` over every variant with the kernel's
// certificates: the prediction for this kernel, whatever era the variant's format belongs to.
func (h *harness) predict(files map[string]string) map[string]prediction {
	h.t.Helper()
	args := []string{"verify", "--kernel", "linux-6.1", "--json"}
	for _, c := range predictionRing {
		args = append(args, "--keyring", filepath.Join(h.keys, c))
	}
	paths := make([]string, 0, len(files))
	byPath := map[string]string{}
	for name, p := range files {
		paths = append(paths, p)
		byPath[p] = name
	}
	sort.Strings(paths)
	args = append(args, paths...)
	cmd := exec.Command(h.kmodsig, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	// Exit status 1 means "some file did not verify", which is expected here.
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		h.t.Fatalf("kmodsig %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(h.work, "predictions.json"), out, 0o644); err != nil {
		h.t.Fatal(err)
	}
	var list []prediction
	if err := json.Unmarshal(out, &list); err != nil {
		h.t.Fatalf("kmodsig verify --json output: %v\n%s", err, out)
	}
	pred := map[string]prediction{}
	for _, p := range list {
		name, ok := byPath[p.Path]
		if !ok {
			abs, _ := filepath.Abs(p.Path)
			name, ok = byPath[abs]
		}
		if !ok {
			h.t.Fatalf("kmodsig verify reported an unknown path %q", p.Path)
		}
		pred[name] = p
	}
	return pred
}

// initramfs writes the gzip'd initramfs with busybox, init.sh, the variants and the extra
// modules (guest name -> file: the committed vectors).
func (h *harness) initramfs(made []string, extra map[string]string) string {
	h.t.Helper()
	var list strings.Builder
	list.WriteString(`dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/null 0666 0 0 c 1 3
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /bin 0755 0 0
dir /mods 0755 0 0
`)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		h.t.Fatalf("busybox (Debian package busybox-static): %v", err)
	}
	fmt.Fprintf(&list, "file /bin/busybox %s 0755 0 0\n", busybox)
	fmt.Fprintf(&list, "file /init %s 0755 0 0\n", filepath.Join(h.root, "kerneltest", "init.sh"))
	for _, n := range made {
		fmt.Fprintf(&list, "file /mods/%s.ko %s 0644 0 0\n", n, filepath.Join(h.work, "mods", n+".ko"))
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&list, "file /mods/%s.ko %s 0644 0 0\n", n, extra[n])
	}
	lf := filepath.Join(h.work, "initramfs.list")
	if err := os.WriteFile(lf, []byte(list.String()), 0o644); err != nil {
		h.t.Fatal(err)
	}
	cpio := h.run(h.work, filepath.Join(h.cache, "tree", "usr", "gen_init_cpio"), lf)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(cpio); err != nil {
		h.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		h.t.Fatal(err)
	}
	out := filepath.Join(h.work, "initramfs.cpio.gz")
	if err := os.WriteFile(out, gz.Bytes(), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// boot boots the kernel once under TCG and parses the serial log.
func (h *harness) boot(initrd, mode string) (*Boot, string, time.Duration, error) {
	appendLine := "console=ttyS0 panic=-1"
	if mode == "enforcing" {
		appendLine += " module.sig_enforce=1"
	}
	serial := filepath.Join(h.work, "serial-"+mode+".log")
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-smp", "1",
		"-kernel", filepath.Join(h.cache, "bzImage"), "-initrd", initrd, "-append", appendLine,
		"-nographic", "-no-reboot", "-monitor", "none", "-display", "none", "-serial", "file:"+serial)
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	d := time.Since(start)
	log, rerr := os.ReadFile(serial)
	if err != nil {
		return nil, string(log), d, fmt.Errorf("qemu: %v: %s", err, msg)
	}
	if rerr != nil {
		return nil, "", d, rerr
	}
	b, err := ParseSerial(bytes.NewReader(log))
	if err != nil {
		return nil, string(log), d, err
	}
	if !b.Complete {
		return nil, string(log), d, errors.New("the guest did not reach ORACLE-END")
	}
	return b, string(log), d, nil
}

// checkBoots checks that each boot ran in the intended mode with every certificate loaded and
// reported every module (variants and committed vectors: n in all).
func (h *harness) checkBoots(boots map[string]*Boot, n int) {
	h.t.Helper()
	for mode, want := range map[string]string{"permissive": "N", "enforcing": "Y"} {
		b := boots[mode]
		if b.SigEnforce != want {
			h.t.Errorf("%s boot: sig_enforce = %q, want %q (cmdline %q)", mode, b.SigEnforce, want, b.Cmdline)
		}
		loaded := 0
		for _, l := range b.BootLines {
			if strings.Contains(l, "Loaded X.509 cert") {
				loaded++
			}
		}
		// MODULE_SIG_KEY's certificate plus the bundle: rsa4096, ecdsa-p256, ecdsa-p384, expired.
		if loaded != 5 {
			h.t.Errorf("%s boot: %d \"Loaded X.509 cert\" lines, want 5:\n%s", mode, loaded, strings.Join(b.BootLines, "\n"))
		}
		if len(b.Results) != n {
			h.t.Errorf("%s boot: %d results for %d modules", mode, len(b.Results), n)
		}
	}
	if h.t.Failed() {
		h.t.FailNow()
	}
	h.t.Logf("boot certificates:\n  %s", strings.Join(boots["permissive"].BootLines, "\n  "))
}

// compare checks the real results against kmodsig's predictions and prints the table.
func (h *harness) compare(made []string, pred map[string]prediction, boots map[string]*Boot) {
	h.t.Helper()
	perm, enf := boots["permissive"], boots["enforcing"]
	var table strings.Builder
	fmt.Fprintf(&table, "%-28s %-14s %-13s %-13s | %-13s %-13s %-8s %s\n", "variant", "kmodsig", "exp perm", "exp enf", "real perm", "real enf", "modtaint", "")
	for _, name := range made {
		p, ok := pred[name]
		rp, re := perm.Result(name), enf.Result(name)
		if !ok || rp == nil || re == nil {
			h.t.Errorf("variant %s: prediction present %v, permissive result %v, enforcing result %v", name, ok, rp != nil, re != nil)
			continue
		}
		var bad []string
		if p.Permissive != rp.Errno {
			bad = append(bad, fmt.Sprintf("permissive: kmodsig predicts %s, the kernel returned %s", p.Permissive, rp.Errno))
		}
		if p.Enforcing != re.Errno {
			bad = append(bad, fmt.Sprintf("enforcing: kmodsig predicts %s, the kernel returned %s", p.Enforcing, re.Errno))
		}
		// A module the permissive kernel loaded carries taint E exactly when its signature was
		// not verified (unsigned, unknown key, unsupported): kmodsig's outcome must say the same.
		if rp.Errno == formats.ErrnoOK {
			unverified := strings.Contains(rp.ModTaint, "E")
			if unverified == (p.Outcome == string(formats.OK)) {
				bad = append(bad, fmt.Sprintf("kernel loaded it with module taint %q but kmodsig's outcome is %q", rp.ModTaint, p.Outcome))
			}
		}
		for _, r := range []*Result{rp, re} {
			if r.Errno == formats.ErrnoOK && !containsLine(r.Dmesg, "kmodsig-kernel-hello: loaded") {
				bad = append(bad, "loaded without printing kmodsig-kernel-hello: loaded")
			}
		}
		mark := "ok"
		if len(bad) > 0 {
			mark = "MISMATCH"
		}
		fmt.Fprintf(&table, "%-28s %-14s %-13s %-13s | %-13s %-13s %-8s %s\n", name, p.Outcome, p.Permissive, p.Enforcing, rp.Errno, re.Errno, rp.ModTaint, mark)
		if len(bad) > 0 {
			h.t.Errorf("variant %s (%s):\n  %s\n  kmodsig: %s %s: %s\n  permissive console: insmod: %s\n    %s\n  enforcing console: insmod: %s\n    %s",
				name, howOf(name), strings.Join(bad, "\n  "), p.Format, p.Outcome, p.Reason,
				rp.Message, strings.Join(rp.Dmesg, "\n    "), re.Message, strings.Join(re.Dmesg, "\n    "))
		}
	}
	h.t.Logf("kernel vs kmodsig verify (exp = kmodsig's prediction, real = Linux 6.1 in qemu):\n%s", table.String())
}

func howOf(name string) string {
	for _, v := range variants {
		if v.name == name {
			return v.how
		}
	}
	return ""
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
