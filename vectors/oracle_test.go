package vectors

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/elfsig"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// TestOracles checks every vector that has an independent check with its tool: the
// signature carved out of the artifact must verify over the carved payload (or stream) with
// the tool exactly when the generator says it is cryptographically good. Carving follows
// ORACLES.md and is done here with the standard library (debug/elf, byte offsets), except
// for the rhel5/rhel6 canonical stream, which has no independent implementation (its golden
// files are pinned by testdata/elf/canon.py).
func TestOracles(t *testing.T) {
	s := generate(t)
	tools := map[string]string{}
	need := func(tool string) string {
		if p, ok := tools[tool]; ok {
			return p
		}
		p := peers.Require(t, tool)
		tools[tool] = p
		return p
	}
	dir := t.TempDir()
	var gnupgHome, secretHome string
	checked, byTool := 0, map[string]int{}
	for _, gt := range s.Manifest.Tests() {
		g, tc, o := gt.Group, gt.Test, gt.Test.Oracle
		if o.Tool == "" {
			if o.Why == "" {
				t.Errorf("tc %d %s: no oracle and no reason", tc.TcID, tc.File)
			}
			continue
		}
		keyFiles := g.Key.Keyring
		if o.Key != "" {
			keyFiles = []string{o.Key}
		}
		art := s.Files[tc.File]
		w := filepath.Join(dir, strconv.Itoa(tc.TcID))
		if err := os.MkdirAll(w, 0o755); err != nil {
			t.Fatal(err)
		}
		var ok bool
		var out string
		switch o.Tool {
		case opensslCMS:
			payload, sig := carveModSig(t, art, tc)
			cert := certPEM(t, s, keyFiles, w)
			ok, out = run(t, w, need("openssl"), payload, sig, "cms", "-verify", "-binary", "-inform", "DER", "-in", "SIG", "-content", "PAYLOAD", "-certfile", cert, "-noverify", "-out", os.DevNull)
		case opensslDgst:
			var payload, raw []byte
			pub := pubPEM(t, s, keyFiles, w)
			if g.Format == "gkh2004" {
				payload, raw = carveGKHRSA(t, art, certOf(t, s, keyFiles), tc)
			} else {
				var sig []byte
				payload, sig = carveModSig(t, art, tc)
				if len(sig) < 2 || int(binary.BigEndian.Uint16(sig)) != len(sig)-2 {
					t.Fatalf("tc %d: x509 signature part is not a byte-count MPI", tc.TcID)
				}
				raw = sig[2:]
			}
			ok, out = run(t, w, need("openssl"), payload, raw, "dgst", "-"+tc.Hash, "-verify", pub, "-signature", "SIG", "PAYLOAD")
		case gpgTool:
			if gnupgHome == "" {
				gnupgHome = filepath.Join(dir, "gnupg")
				if err := os.Mkdir(gnupgHome, 0o700); err != nil {
					t.Fatal(err)
				}
				for _, p := range s.Paths() {
					if strings.HasSuffix(p, ".gpg") {
						f := filepath.Join(dir, filepath.Base(p))
						writeFile(t, f, s.Files[p])
						cmd := exec.Command(need("gpg"), "--homedir", gnupgHome, "--batch", "--import", f)
						if b, err := cmd.CombinedOutput(); err != nil {
							t.Fatalf("gpg --import %s: %v\n%s", p, err, b)
						}
					}
				}
			}
			payload, sig := carveOpenPGP(t, art, g.Format, tc)
			ok, out = run(t, w, need("gpg"), payload, sig, "--homedir", gnupgHome, "--batch", "--status-fd", "1", "--allow-weak-digest-algos", "--verify", "SIG", "PAYLOAD")
			if ok != strings.Contains(out, "[GNUPG:] VALIDSIG") {
				t.Errorf("tc %d: gpg exit status and VALIDSIG disagree:\n%s", tc.TcID, out)
			}
			if !o.Good && !strings.Contains(out, "[GNUPG:] BADSIG") {
				t.Errorf("tc %d %s: gpg did not report BADSIG:\n%s", tc.TcID, tc.File, out)
			}
		case gpgDecryptTool:
			// gkh2004 encrypted: gpg with the secret key decrypts the section to the hex
			// SHA-1 line of the kernel-rule stream, carved independently (debug/elf).
			if secretHome == "" {
				secretHome = filepath.Join(dir, "gnupg-secret")
				if err := os.Mkdir(secretHome, 0o700); err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(dir, g.Key.Name+".secret.gpg")
				writeFile(t, f, secretOpenPGP(t, g.Key.Name))
				cmd := exec.Command(need("gpg"), "--homedir", secretHome, "--batch", "--import", f)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("gpg --import the secret key: %v\n%s", err, b)
				}
			}
			payload, msg := carveOpenPGP(t, art, g.Format, tc)
			ok, out = run(t, w, need("gpg"), payload, msg, "--homedir", secretHome, "--batch", "--yes", "--output", "PLAIN", "--decrypt", "SIG")
			if ok {
				plain, err := os.ReadFile(filepath.Join(w, "PLAIN"))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha1.Sum(payload)
				ok = string(plain) == hex.EncodeToString(sum[:])+"\n"
				out += fmt.Sprintf("plaintext %q, SHA-1 of the stream %x", plain, sum)
			}
		case evmctlTool:
			payload, sigPart := carveDigsig(t, art)
			args := []string{"ima_verify", "--sigfile"}
			if sigPart[0] == 1 {
				args = append(args, "--rsa", "-a", tc.Hash, "--key", pubPEM(t, s, keyFiles, w))
			} else {
				args = append(args, "--key", certDER(t, s, keyFiles, w))
			}
			ok, out = run(t, w, need("evmctl"), payload, append([]byte{3}, sigPart...), append(args, "PAYLOAD")...)
		default:
			t.Fatalf("tc %d: unknown oracle %q", tc.TcID, o.Tool)
		}
		checked++
		byTool[o.Tool]++
		if ok != o.Good {
			t.Errorf("tc %d %s [%s]: %s says good=%v, generator says %v:\n%s", tc.TcID, tc.File, g.Format, o.Tool, ok, o.Good, out)
		}
	}
	t.Logf("independent checks: %d vectors (%v)", checked, byTool)
}

// run writes payload and sig into w (as PAYLOAD and SIG, or PAYLOAD.sig for evmctl) and runs
// tool with args in w; it reports whether the tool exited 0.
func run(t *testing.T, w, tool string, payload, sig []byte, args ...string) (bool, string) {
	t.Helper()
	writeFile(t, filepath.Join(w, "PAYLOAD"), payload)
	writeFile(t, filepath.Join(w, "SIG"), sig)
	writeFile(t, filepath.Join(w, "PAYLOAD.sig"), sig)
	cmd := exec.Command(tool, args...)
	cmd.Dir = w
	b, err := cmd.CombinedOutput()
	if err != nil {
		if _, isExit := err.(*exec.ExitError); !isExit {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	return err == nil, fmt.Sprintf("$ %s %s\n%s", filepath.Base(tool), strings.Join(args, " "), b)
}

// secretOpenPGP returns the committed key NAME (testdata/keys/NAME.pem) as an unprotected
// OpenPGP secret key, in the derived form the vectors' public keyrings hold (same creation
// time, so the same key id).
func secretOpenPGP(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "keys", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	e, err := k.OpenPGP()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := e.SerializePrivateWithoutSigning(&out, nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// carveModSig splits a module_signature trailer (ORACLES.md 2.4): payload, signature part.
func carveModSig(t *testing.T, b []byte, tc *Test) (payload, sig []byte) {
	t.Helper()
	n := len(b)
	if n < 40 || string(b[n-28:]) != formats.Marker {
		t.Fatalf("tc %d: no marker", tc.TcID)
	}
	blk := b[n-40 : n-28]
	sl, kl, l := int(blk[3]), int(blk[4]), int(binary.BigEndian.Uint32(blk[8:]))
	if l+kl+sl > n-40 {
		t.Fatalf("tc %d: lengths exceed the file", tc.TcID)
	}
	return b[:n-40-l-kl-sl], b[n-40-l : n-40]
}

// carveDigsig splits a digsig2012 trailer (ORACLES.md 4): payload, signature part.
func carveDigsig(t *testing.T, b []byte) (payload, sig []byte) {
	t.Helper()
	n := len(b)
	s := int(binary.BigEndian.Uint16(b[n-32:]))
	if string(b[n-30:]) != formats.Magic30 || s+32 > n || s == 0 {
		t.Fatal("not a digsig2012 trailer")
	}
	return b[:n-32-s], b[n-32-s : n-32]
}

// carveOpenPGP returns the signed stream and the OpenPGP signature of a gpg-based vector
// (ORACLES.md 5).
func carveOpenPGP(t *testing.T, b []byte, format string, tc *Test) (payload, sig []byte) {
	t.Helper()
	switch format {
	case "gpg2012":
		n := len(b)
		l, err := strconv.Atoi(strings.TrimRight(string(b[n-35:n-30]), " "))
		if err != nil || string(b[n-30:]) != formats.Magic30 || l+35 > n {
			t.Fatalf("tc %d: not a gpg2012 trailer", tc.TcID)
		}
		return b[:n-35-l], b[n-35-l : n-35]
	case "gkh2004":
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		sec := f.Section(elfsig.GKHSection)
		if sec == nil {
			t.Fatalf("tc %d: no module_sig", tc.TcID)
		}
		sig, err = sec.Data()
		if err != nil {
			t.Fatal(err)
		}
		return gkhStream(b, f, contains(tc.Flags, "LibbfdStream")), sig
	case "rhel5", "rhel6":
		name, p := elfsig.RHEL5Section, elfsig.CanonRHEL5
		if format == "rhel6" {
			name, p = elfsig.RHEL6Section, elfsig.CanonRHEL6
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for i, sec := range f.Sections {
			if sec.Name == name {
				p.Skip = i
				if sig, err = sec.Data(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if p.Skip == 0 {
			t.Fatalf("tc %d: no %s section", tc.TcID, name)
		}
		if format == "rhel6" {
			// ELF note: namesz, descsz, type, "module.sig\0" padded to 12, desc.
			bo := f.ByteOrder
			if len(sig) < 24 || bo.Uint32(sig) != 11 || bo.Uint32(sig[8:]) != 100 || int(bo.Uint32(sig[4:]))+24 > len(sig) {
				t.Fatalf("tc %d: bad note", tc.TcID)
			}
			sig = sig[24 : 24+bo.Uint32(sig[4:])]
		}
		stream, err := elfsig.Canonical(formats.NewModule(tc.File, b), p)
		if err != nil {
			t.Fatal(err)
		}
		return stream, sig
	}
	t.Fatalf("no OpenPGP carving for %s", format)
	return nil, nil
}

// gkhStream is the gkh2004 text/data section stream, written here from FORMATS.md with
// debug/elf. Kernel rule: every section in header order whose name contains "text" or
// "data" and not ".rel.", its sh_size bytes at sh_offset (NOBITS included). libbfd rule:
// sections with contents (not NOBITS, not relocations), size != 0, name containing "text"
// or "data".
func gkhStream(b []byte, f *elf.File, libbfd bool) []byte {
	var out []byte
	for i, s := range f.Sections {
		if i == 0 || !(strings.Contains(s.Name, "text") || strings.Contains(s.Name, "data")) {
			continue
		}
		if libbfd {
			if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA || s.Size == 0 {
				continue
			}
		} else if strings.Contains(s.Name, ".rel.") {
			continue
		}
		end := s.Offset + s.Size
		if end > uint64(len(b)) {
			end = uint64(len(b))
		}
		out = append(out, b[s.Offset:end]...)
	}
	return out
}

// certOf returns the first certificate among files.
func certOf(t *testing.T, s *Set, files []string) *x509.Certificate {
	t.Helper()
	for _, p := range files {
		if c, err := x509.ParseCertificate(s.Files[p]); err == nil {
			return c
		}
	}
	t.Fatalf("no certificate in %v", files)
	return nil
}

func certPEM(t *testing.T, s *Set, files []string, w string) string {
	p := filepath.Join(w, "cert.pem")
	writeFile(t, p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certOf(t, s, files).Raw}))
	return p
}

func certDER(t *testing.T, s *Set, files []string, w string) string {
	p := filepath.Join(w, "cert.der")
	writeFile(t, p, certOf(t, s, files).Raw)
	return p
}

func pubPEM(t *testing.T, s *Set, files []string, w string) string {
	der, err := x509.MarshalPKIXPublicKey(certOf(t, s, files).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(w, "pub.pem")
	writeFile(t, p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return p
}

// carveGKHRSA returns the kernel-rule stream and the RSA value of a gkh2004 variant rsa
// section (be16 bit count ‖ magnitude), left-padded to the modulus length.
func carveGKHRSA(t *testing.T, b []byte, c *x509.Certificate, tc *Test) (payload, sig []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(elfsig.GKHSection)
	if sec == nil {
		t.Fatalf("tc %d: no module_sig", tc.TcID)
	}
	data, err := sec.Data()
	if err != nil || len(data) < 2 || (int(binary.BigEndian.Uint16(data))+7)/8 != len(data)-2 {
		t.Fatalf("tc %d: module_sig is not one MPI (%v)", tc.TcID, err)
	}
	k := (c.PublicKey.(*rsa.PublicKey).N.BitLen() + 7) / 8
	if len(data)-2 > k {
		t.Fatalf("tc %d: MPI longer than the modulus", tc.TcID)
	}
	sig = make([]byte, k)
	copy(sig[k-(len(data)-2):], data[2:])
	return gkhStream(b, f, false), sig
}
