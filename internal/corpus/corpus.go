// Package corpus provides the real Debian 6.1 module set (ORACLES.md §7): it downloads the
// current linux-image-6.1.*-amd64 package into the user cache (never the checkout), unpacks
// it, and carves the module-signing certificate out of the vmlinuz, where the kernel build
// compiled it in (no package ships it as a file).
package corpus

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Corpus is an unpacked Debian kernel image package.
type Corpus struct {
	Dir     string // the unpacked package root
	Modules string // lib/modules/<kver>
	KVer    string
	Cert    string // PEM file of the carved signing certificate
	Package string
}

// CacheDir returns $KMODSIG_CACHE, else $XDG_CACHE_HOME/kmodsig, else ~/.cache/kmodsig.
func CacheDir() string {
	if d := os.Getenv("KMODSIG_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kmodsig")
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".cache", "kmodsig")
}

// Fetch returns the corpus, downloading and unpacking it on first use. It needs apt-get
// (no root: `apt-get download`) and dpkg-deb.
func Fetch() (*Corpus, error) {
	pkg, err := currentPackage()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(CacheDir(), "corpus", pkg)
	c := &Corpus{Dir: dir, Package: pkg, Cert: filepath.Join(dir, "signing-cert.pem")}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		if err := download(pkg, dir); err != nil {
			return nil, err
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "root", "lib", "modules"))
	if err != nil || len(ents) == 0 {
		return nil, fmt.Errorf("corpus %s: no lib/modules", dir)
	}
	c.KVer = ents[0].Name()
	c.Modules = filepath.Join(dir, "root", "lib", "modules", c.KVer)
	return c, nil
}

func currentPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", errors.New("apt-cache: linux-image-amd64 has no linux-image dependency (run apt-get update)")
}

func download(pkg, dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir+"/"), ".fetch-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".fetch-"); err != nil {
			return err
		}
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("apt-get", "download", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: no .deb", pkg)
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x: %v\n%s", err, out)
	}
	os.Remove(debs[0])
	imgs, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(imgs) != 1 {
		return errors.New("corpus: no boot/vmlinuz-*")
	}
	img, err := os.ReadFile(imgs[0])
	if err != nil {
		return err
	}
	certs, err := CarveCertificates(img)
	if err != nil {
		return err
	}
	var pemOut []byte
	for _, c := range certs {
		pemOut = append(pemOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(filepath.Join(tmp, "signing-cert.pem"), pemOut, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(pkg+"\n"), 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// CarveCertificates finds the vmlinux inside a bzImage (trying every xz, zstd and gzip magic,
// keeping the first that decompresses to an ELF file) and returns every distinct X.509
// certificate found in it by scanning for DER `30 82 HH LL 30 82` (ORACLES.md §7.2).
func CarveCertificates(bzImage []byte) ([]*x509.Certificate, error) {
	vmlinux, err := extractVmlinux(bzImage)
	if err != nil {
		return nil, err
	}
	return ScanDERCertificates(vmlinux), nil
}

func extractVmlinux(img []byte) ([]byte, error) {
	type magic struct {
		sig []byte
		dec func([]byte) ([]byte, error)
	}
	magics := []magic{
		// The kernel's xz stream uses the x86 BCJ filter, which github.com/ulikunitz/xz does
		// not implement: decompress with xz(1), ignoring its trailing-garbage complaint.
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, func(b []byte) ([]byte, error) {
			cmd := exec.Command("xz", "-dc")
			cmd.Stdin = bytes.NewReader(b)
			out, err := cmd.Output()
			return out, err
		}},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd}, func(b []byte) ([]byte, error) {
			r, err := zstd.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return readUpTo(r)
		}},
	}
	for _, m := range magics {
		for off := 0; ; {
			i := bytes.Index(img[off:], m.sig)
			if i < 0 {
				break
			}
			out, _ := m.dec(img[off+i:])
			if bytes.HasPrefix(out, []byte("\x7fELF")) {
				return out, nil
			}
			off += i + 1
		}
	}
	return nil, errors.New("vmlinuz: no xz or zstd stream decompresses to an ELF vmlinux")
}

// readUpTo reads at most 512 MiB, keeping what was read before a trailing-garbage error.
func readUpTo(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, io.LimitReader(r, 512<<20))
	return buf.Bytes(), err
}

// ScanDERCertificates returns the distinct certificates whose DER starts anywhere in b.
func ScanDERCertificates(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	seen := map[string]bool{}
	for i := 0; i+8 < len(b); i++ {
		if b[i] != 0x30 || b[i+1] != 0x82 || b[i+4] != 0x30 || b[i+5] != 0x82 {
			continue
		}
		n := int(b[i+2])<<8 | int(b[i+3]) + 4
		if n < 300 || n > 8000 || i+n > len(b) {
			continue
		}
		c, err := x509.ParseCertificate(b[i : i+n])
		if err != nil || seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		out = append(out, c)
	}
	return out
}
