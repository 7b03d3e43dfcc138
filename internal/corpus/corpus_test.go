package corpus_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/conv"
	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/corpus"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

// The real Debian 6.1 module set (ORACLES.md §7) is the corpus. These tests run when
// KMODSIG_CORPUS=1 (make test sets it as root); the download is cached outside the checkout.
func fetch(t *testing.T) (*corpus.Corpus, []conv.Input) {
	t.Helper()
	if os.Getenv("KMODSIG_CORPUS") != "1" {
		t.Skip("Debian module corpus test: set KMODSIG_CORPUS=1 (make test does as root); downloads ~70 MB into the cache")
	}
	c, err := corpus.Fetch()
	if err != nil {
		t.Fatalf("fetching the corpus: %v", err)
	}
	in, err := conv.Walk([]string{c.Modules})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) < 1000 {
		t.Fatalf("corpus has only %d modules", len(in))
	}
	return c, in
}

const testKeys = "../../testdata/keys"

// TestCorpusVerify: every module parses as pkcs7 and verifies with the certificate carved
// out of the vmlinuz; with another certificate every module is unknown-key; one flipped
// payload byte is bad-signature; a mangled trailer is corrupt.
func TestCorpusVerify(t *testing.T) {
	c, inputs := fetch(t)
	ring, err := keys.LoadRing(c.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(ring.Certs) != 1 {
		t.Fatalf("carved %d certificates, want exactly 1", len(ring.Certs))
	}
	other, err := keys.LoadRing(filepath.Join(testKeys, "rsa4096.crt"))
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, in := range inputs {
		f, err := conv.Open(in.Path)
		if err != nil {
			t.Fatal(err)
		}
		layers := conv.Layers(f.Module)
		if len(layers) != 1 || layers[0].Err != nil || layers[0].Driver.ID() != "pkcs7" {
			t.Errorf("%s: layers %+v", in.Path, layers)
			bad++
		}
		v := conv.Verify(f.Module, ring, formats.Policy{}, "")
		if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK {
			t.Errorf("%s: %v", in.Path, v)
			bad++
		}
		if i%40 == 0 {
			if v := conv.Verify(f.Module, other, formats.Policy{}, ""); v.Outcome != formats.UnknownKey {
				t.Errorf("%s with another certificate: %v", in.Path, v)
			}
		}
		f.Close()
		if bad > 10 {
			t.Fatal("too many failures")
		}
	}
	t.Logf("%d modules verified with %s", len(inputs), c.Cert)

	b, err := os.ReadFile(inputs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(b)
	flipped[100] ^= 1
	if v := conv.Verify(formats.NewModule("flipped", flipped), ring, formats.Policy{}, ""); v.Outcome != formats.BadSignature {
		t.Errorf("payload byte flipped: %v", v)
	}
	mangled := bytes.Clone(b)
	mangled[len(mangled)-32] = 0x7f // sig_len
	if v := conv.Verify(formats.NewModule("mangled", mangled), ring, formats.Policy{}, ""); v.Outcome != formats.Corrupt {
		t.Errorf("trailer mangled: %v", v)
	}
}

// TestCorpusInspectMatchesModinfo: for every module, kmodsig's sig_id, signer, sig_key,
// sig_hashalgo and signature equal what modinfo (kmod) prints, read from one modinfo process.
func TestCorpusInspectMatchesModinfo(t *testing.T) {
	_, inputs := fetch(t)
	modinfo := peers.Require(t, "modinfo")
	args := []string{}
	for _, in := range inputs {
		args = append(args, in.Path)
	}
	out, err := exec.Command(modinfo, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := parseModinfo(out)
	if len(want) != len(inputs) {
		t.Fatalf("modinfo printed %d modules, want %d", len(want), len(inputs))
	}
	for _, in := range inputs {
		f, err := conv.Open(in.Path)
		if err != nil {
			t.Fatal(err)
		}
		l := conv.Layers(f.Module)
		f.Close()
		if len(l) == 0 || l[0].Err != nil {
			t.Errorf("%s: no signature", in.Path)
			continue
		}
		s := l[0].Signature
		got := map[string]string{"sig_id": s.SigID, "signer": s.Signer, "sig_key": colonHex(s.KeyID),
			"sig_hashalgo": s.HashAlgo, "signature": colonHex(s.Value)}
		for k, v := range got {
			if want[in.Path][k] != v {
				t.Errorf("%s: %s = %q, modinfo %q", in.Path, k, v, want[in.Path][k])
			}
		}
	}
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// parseModinfo reads modinfo output for many files into path -> field -> value, joining the
// wrapped signature lines.
func parseModinfo(out []byte) map[string]map[string]string {
	res := map[string]map[string]string{}
	var cur map[string]string
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t\t") && cur != nil {
			cur[last] += strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if k == "filename" {
			cur = map[string]string{}
			res[v] = cur
		}
		if cur != nil {
			cur[k] = v
			last = k
		}
	}
	return res
}

// TestCorpusConvert: the whole set re-signed in pkcs7 with a test key (strip, sign, verify
// before write), every result accepted by kmodsig and a sample by openssl cms and byte-identical
// to sign-file; converted to x509 and back to pkcs7, byte-identical to the direct signing.
func TestCorpusConvert(t *testing.T) {
	_, inputs := fetch(t)
	k, err := keys.LoadFile(filepath.Join(testKeys, "rsa2048.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	direct := filepath.Join(dir, "pkcs7")
	rep := conv.Convert(context.Background(), inputs, conv.Options{To: "pkcs7", Key: k, OutDir: direct})
	if rep.Err() != nil || rep.Converted != len(inputs) {
		t.Fatalf("convert to pkcs7: %d converted, %v; first: %+v", rep.Converted, rep.Err(), firstFailure(rep))
	}
	ring, _ := keys.LoadRing(filepath.Join(testKeys, "rsa2048.crt"))
	var outs []conv.Input
	outs, err = conv.Walk([]string{direct})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		f, err := conv.Open(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		if v := conv.Verify(f.Module, ring, formats.Policy{}, ""); v.Outcome != formats.OK {
			t.Errorf("%s: %v", o.Path, v)
		}
		f.Close()
	}
	// x509 and back.
	viaX509 := filepath.Join(dir, "x509")
	back := filepath.Join(dir, "back")
	if rep := conv.Convert(context.Background(), outs, conv.Options{To: "x509", Key: k, OutDir: viaX509}); rep.Err() != nil {
		t.Fatalf("to x509: %v %+v", rep.Err(), firstFailure(rep))
	}
	xs, _ := conv.Walk([]string{viaX509})
	if rep := conv.Convert(context.Background(), xs, conv.Options{To: "pkcs7", Key: k, OutDir: back}); rep.Err() != nil {
		t.Fatalf("back to pkcs7: %v %+v", rep.Err(), firstFailure(rep))
	}
	for _, o := range outs {
		a, _ := os.ReadFile(o.Path)
		b, err := os.ReadFile(filepath.Join(back, o.Rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: pkcs7 -> x509 -> pkcs7 differs from direct pkcs7 signing", o.Rel)
		}
	}
	// Independent checks on a sample: openssl cms accepts, sign-file gives the same bytes.
	openssl := peers.Require(t, "openssl")
	peers.Require(t, peers.SignFile)
	for i := 0; i < len(inputs); i += len(inputs) / 25 {
		in := inputs[i]
		signed := filepath.Join(direct, in.Rel)
		b, _ := os.ReadFile(signed)
		tr, err := formats.ParseModSig(formats.NewModule(signed, b), "pkcs7")
		if err != nil {
			t.Fatal(err)
		}
		payload := filepath.Join(dir, "payload")
		sig := filepath.Join(dir, "sig.p7s")
		os.WriteFile(payload, b[:tr.PayloadLen], 0o644)
		os.WriteFile(sig, b[tr.SigOff:tr.SigOff+int64(tr.Block.SigLen)], 0o644)
		if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", payload,
			"-certfile", filepath.Join(testKeys, "rsa2048.crt"), "-noverify", "-out", "/dev/null").CombinedOutput(); err != nil {
			t.Errorf("%s: openssl cms -verify: %v\n%s", in.Rel, err, out)
		}
		ref := filepath.Join(dir, "ref.ko")
		if out, err := exec.Command(peers.SignFile, "sha256", filepath.Join(testKeys, "rsa2048.pem"), filepath.Join(testKeys, "rsa2048.der"), payload, ref).CombinedOutput(); err != nil {
			t.Fatalf("sign-file: %v\n%s", err, out)
		}
		r, _ := os.ReadFile(ref)
		if !bytes.Equal(r, b) {
			t.Errorf("%s: kmodsig re-signing differs from sign-file", in.Rel)
		}
	}
}

func firstFailure(r *conv.Report) string {
	for _, f := range r.Files {
		if f.Outcome != conv.Converted {
			return fmt.Sprintf("%s: %s %s", f.Path, f.Outcome, f.Error)
		}
	}
	return ""
}
