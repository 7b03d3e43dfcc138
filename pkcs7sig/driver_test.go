package pkcs7sig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
)

func TestRegistered(t *testing.T) {
	d, err := formats.Lookup("pkcs7")
	if err != nil {
		t.Fatal(err)
	}
	if d.Info().Order != 10 || d.ID() != "pkcs7" {
		t.Errorf("Info %+v", d.Info())
	}
	if _, ok := d.(formats.KeyExporter); !ok {
		t.Error("not a KeyExporter")
	}
}

// TestStrip: a sign-file signature stripped gives back the module; a module signed twice by
// sign-file shows the outer layer with a note, strips one layer at a time; Strip then Sign
// with the same key reproduces sign-file's bytes.
func TestStrip(t *testing.T) {
	unsigned := hello(t)
	once := signFile(t, unsigned, "sha256", "rsa2048", false)
	twice := signFile(t, once, "sha512", "rsa4096", false)

	got, err := Driver{}.Strip(formats.NewModule("once.ko", once))
	if err != nil || !bytes.Equal(got, unsigned) {
		t.Fatalf("Strip(once): err %v, equal %v", err, bytes.Equal(got, unsigned))
	}
	resigned, err := Driver{}.Sign(got, material(t, "rsa2048"), formats.SignOptions{})
	if err != nil || !bytes.Equal(resigned, once) {
		t.Fatalf("Strip then Sign: err %v, equal to sign-file %v", err, bytes.Equal(resigned, once))
	}

	m := formats.NewModule("twice.ko", twice)
	sig, err := Driver{}.Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if sig.HashAlgo != "sha512" || sig.Signer != "kmodsig trusted RSA-4096" {
		t.Errorf("outer layer: %s by %q", sig.HashAlgo, sig.Signer)
	}
	if !hasNote(sig.Notes, "again ends with the module signature marker") {
		t.Errorf("no nested-signature note: %q", sig.Notes)
	}
	if sig.PayloadLen != int64(len(once)) {
		t.Errorf("PayloadLen %d, want %d", sig.PayloadLen, len(once))
	}
	inner, err := Driver{}.Strip(m)
	if err != nil || !bytes.Equal(inner, once) {
		t.Fatalf("Strip(twice): err %v, equal to once %v", err, bytes.Equal(inner, once))
	}
	v := Driver{}.Verify(m, ring(t, "rsa4096"), formats.Policy{})
	if v.Outcome != formats.OK || !hasNote(v.Notes, "inner signature") {
		t.Errorf("Verify(twice): %v %q", v, v.Notes)
	}
	if _, err := (Driver{}).Strip(formats.NewModule("u.ko", unsigned)); !errors.Is(err, formats.ErrNotSigned) {
		t.Errorf("Strip(unsigned): %v, want ErrNotSigned", err)
	}
	warned := ""
	if _, err := (Driver{}).Sign(once, material(t, "rsa2048"), formats.SignOptions{Warn: func(s string) { warned = s }}); err != nil || warned == "" {
		t.Errorf("Sign on a signed module: err %v, warning %q", err, warned)
	}
}

func hasNote(notes []string, sub string) bool {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// TestBadInput: every malformed trailer or CMS is a *FormatError naming pkcs7 and the offset.
func TestBadInput(t *testing.T) {
	unsigned := hello(t)
	good := signFile(t, unsigned, "sha256", "rsa2048", false)
	_, cms := split(t, good)
	n := len(good)
	blockOff := n - 40
	sigOff := len(unsigned)
	edit := func(i int, c byte) []byte {
		b := append([]byte{}, good...)
		b[i] = c
		return b
	}
	with := func(payload, sig []byte, blk formats.ModSig) []byte { return attach(payload, sig, blk) }
	truncatedCMS := with(unsigned, cms[:len(cms)-10], formats.ModSig{IDType: 2})
	notSignedData := append([]byte{}, cms...)
	notSignedData[14] = 0x01 // 1.2.840.113549.1.7.2 -> .7.1 (data)
	for _, tc := range []struct {
		name string
		mod  []byte
		off  int64
		msg  string
	}{
		{"marker only", []byte(formats.Marker), 0, "too short"},
		{"truncated block", append([]byte{0, 2, 0, 0}, formats.Marker...), 0, "too short"},
		{"sig_len larger than the file", edit(blockOff+8, 0x7f), int64(blockOff + 8), "sig_len"},
		{"sig_len one too large", with(nil, cms, formats.ModSig{IDType: 2}), int64(len(cms) + 8), "takes all 437 bytes before the trailer, leaving no module"},
		{"sig_len zero", with(unsigned, nil, formats.ModSig{IDType: 2}), int64(len(unsigned) + 8), "sig_len 0"},
		{"algo non-zero", edit(blockOff, 1), int64(blockOff), "algo is 1"},
		{"hash non-zero", edit(blockOff+1, 4), int64(blockOff + 1), "hash is 4"},
		{"signer_len non-zero", edit(blockOff+3, 1), int64(blockOff + 3), "signer_len is 1"},
		{"pad non-zero", edit(blockOff+6, 9), int64(blockOff + 6), "pad[1] is 9"},
		{"id_type 3", edit(blockOff+2, 3), int64(blockOff + 2), "id_type 3"},
		{"garbage DER", with(unsigned, []byte("not a CMS at all"), formats.ModSig{IDType: 2}), int64(sigOff), "not a DER SEQUENCE"},
		{"outer tag 31", edit(sigOff, 0x31), int64(sigOff), "not a DER SEQUENCE"},
		{"truncated CMS", truncatedCMS, int64(sigOff), "not a DER SEQUENCE"},
		{"not signedData", with(unsigned, notSignedData, formats.ModSig{IDType: 2}), int64(sigOff + 4), "not signedData"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			detect := (Driver{}).Detect(formats.NewModule("bad.ko", tc.mod))
			if want := len(tc.mod) >= 40 && tc.mod[len(tc.mod)-38] == 2; detect != want {
				t.Errorf("Detect = %v, want %v", detect, want)
			}
			_, err := Driver{}.Parse(formats.NewModule("bad.ko", tc.mod))
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse: %v, want *formats.FormatError", err)
			}
			prefix := fmt.Sprintf("bad.ko: pkcs7: offset %d (0x%x): ", tc.off, tc.off)
			if fe.Format != "pkcs7" || fe.Off != tc.off || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse: %q, want prefix %q containing %q", err, prefix, tc.msg)
			}
			v := Driver{}.Verify(formats.NewModule("bad.ko", tc.mod), nil, formats.Policy{})
			if v.Outcome != formats.Corrupt && v.Outcome != formats.Unsupported {
				t.Errorf("Verify: %v", v)
			}
		})
	}
}

// TestKeysAndSigners covers expired certificates (accepted: the kernel does not check
// validity), several SignerInfos (openssl cms with two -signer), BER indefinite lengths
// (openssl cms -stream) and SKID lookup.
func TestKeysAndSigners(t *testing.T) {
	unsigned := hello(t)
	expired := signFile(t, unsigned, "sha256", "expired-rsa2048", false)
	v := Driver{}.Verify(formats.NewModule("e.ko", expired), ring(t, "expired-rsa2048"), formats.Policy{})
	if v.Outcome != formats.OK || v.Enforcing != formats.ErrnoOK || !hasNote(v.Notes, "expired") {
		t.Errorf("expired: %v %q", v, v.Notes)
	}

	two := opensslSign(t, "cms", unsigned, "untrusted-rsa2048", "sha256", "-noattr", "-nocerts",
		"-signer", keyPath("rsa4096", "crt"), "-inkey", keyPath("rsa4096", "key"))
	mod := formats.NewModule("two.ko", attach(unsigned, two, formats.ModSig{IDType: 2}))
	sig, err := Driver{}.Parse(mod)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Signers) != 2 || sig.Signers[0].Signer != "kmodsig untrusted RSA-2048" || sig.Signers[1].Signer != "kmodsig trusted RSA-4096" {
		t.Errorf("Signers %+v", sig.Signers)
	}
	if v := (Driver{}).Verify(mod, ring(t, "rsa4096"), formats.Policy{}); v.Outcome != formats.OK || v.Signer != "kmodsig trusted RSA-4096" {
		t.Errorf("two signers, second trusted: %v", v)
	}
	v = Driver{}.Verify(mod, ring(t, "rsa2048"), formats.Policy{})
	if v.Outcome != formats.UnknownKey || !strings.Contains(v.Reason, "which is not in the keyring") || !strings.Contains(v.Reason, "RSA-4096") {
		t.Errorf("two signers, none trusted: %v", v)
	}

	// BER: ContentInfo and its [0] with indefinite lengths, as a streaming encoder writes them.
	der := signFile(t, unsigned, "sha256", "rsa2048", false)
	_, cms := split(t, der)
	sdTLV := cms[4+11+4:]
	ber := append([]byte{0x30, 0x80}, cms[4:4+11]...)
	ber = append(ber, 0xa0, 0x80)
	ber = append(ber, sdTLV...)
	ber = append(ber, 0, 0, 0, 0)
	sd := mustParse(t, ber)
	if !sd.BER {
		t.Fatal("BER not reported")
	}
	if re, _ := sd.Marshal(); !bytes.Equal(re, cms) {
		t.Error("BER normalised and re-marshalled differs from the DER original")
	}
	if v := (Driver{}).Verify(formats.NewModule("ber.ko", attach(unsigned, ber, formats.ModSig{IDType: 2})), ring(t, "rsa2048"), formats.Policy{}); v.Outcome != formats.OK {
		t.Errorf("BER: %v", v)
	}
}

func TestUnknownKeyReason(t *testing.T) {
	unsigned := hello(t)
	for _, skid := range []bool{false, true} {
		b := signFile(t, unsigned, "sha256", "untrusted-rsa2048", skid)
		v := Driver{}.Verify(formats.NewModule("u.ko", b), ring(t, "rsa2048"), formats.Policy{})
		want := "signed by issuer CN=kmodsig untrusted RSA-2048,O=kmodsig test serial "
		if skid {
			want = "signed by subjectKeyIdentifier "
		}
		if v.Outcome != formats.UnknownKey || !strings.HasPrefix(v.Reason, want) || !strings.HasSuffix(v.Reason, "which is not in the keyring") ||
			!hasNote(v.Notes, "taint E") {
			t.Errorf("skid=%v: %v %q", skid, v, v.Notes)
		}
		if v := (Driver{}).Verify(formats.NewModule("u.ko", b), ring(t, "untrusted-rsa2048"), formats.Policy{}); v.Outcome != formats.OK {
			t.Errorf("skid=%v trusted: %v", skid, v)
		}
	}
}

func TestPolicies(t *testing.T) {
	unsigned := hello(t)
	good := signFile(t, unsigned, "sha256", "rsa2048", false)
	for _, tc := range []struct {
		kernel    string
		mod       []byte
		perm, enf formats.Errno
		outcome   formats.Outcome
	}{
		{"linux-3.6", good, "OK", "OK", formats.OK},
		{"linux-3.10", good, "ENOPKG", "ENOPKG", formats.Unsupported},
		{"linux-4.3", unsigned, "OK", "ENOKEY", formats.Unsigned},
		{"linux-5.3.18", unsigned, "OK", "ENOKEY", formats.Unsigned},
		{"linux-5.4", unsigned, "OK", "EKEYREJECTED", formats.Unsigned},
		{"", good, "OK", "OK", formats.OK},
	} {
		v := Driver{}.Verify(formats.NewModule("m.ko", tc.mod), ring(t, "rsa2048"), formats.Policy{Kernel: tc.kernel})
		if v.Permissive != tc.perm || v.Enforcing != tc.enf || v.Outcome != tc.outcome {
			t.Errorf("%q: %v", tc.kernel, v)
		}
	}
	if v := (Driver{}).Verify(formats.NewModule("m.ko", good), nil, formats.Policy{Kernel: "rhel5"}); v.Err == nil {
		t.Errorf("unknown model accepted: %v", v)
	}
}

func TestExportKey(t *testing.T) {
	want, err := os.ReadFile(keyPath("rsa2048", "der"))
	if err != nil {
		t.Fatal(err)
	}
	got, name, err := Driver{}.ExportKey(material(t, "rsa2048"), formats.SignOptions{})
	if err != nil || !bytes.Equal(got, want) || name == "" {
		t.Errorf("ExportKey: err %v, name %q, equal %v", err, name, bytes.Equal(got, want))
	}
	// The exported certificate is what openssl reads as the signer's.
	peers.Require(t, "openssl")
	p := writeTemp(t, "c.der", got)
	out := peers.Run(t, "openssl", "x509", "-inform", "DER", "-in", p, "-noout", "-subject")
	if !strings.Contains(string(out), "kmodsig trusted RSA-2048") {
		t.Errorf("openssl x509: %s", out)
	}
}

// TestParseNotes: Parse names, with a reason, what the kernel would reject.
func TestParseNotes(t *testing.T) {
	unsigned := hello(t)
	good := signFile(t, unsigned, "sha256", "rsa2048", false)
	_, cms := split(t, good)
	pssCMS := opensslSign(t, "cms", unsigned, "rsa2048", "sha256", "-noattr", "-nocerts", "-keyopt", "rsa_padding_mode:pss")
	attrs := opensslSign(t, "cms", unsigned, "rsa2048", "sha256", "-nocerts")
	attached := opensslSign(t, "cms", unsigned, "rsa2048", "sha256", "-noattr", "-nocerts", "-nodetach")
	mismatch := append([]byte{}, cms...)
	mismatch[bytes.Index(mismatch, []byte{0x02, 0x01, 0x01, 0x31})+2] = 3 // SignedData v3 over a v1 SignerInfo
	for _, tc := range []struct {
		name string
		cms  []byte
		note string
	}{
		{"PSS", pssCMS, "RSASSA-PSS"},
		{"signed attributes", attrs, "signed attributes"},
		{"attached", attached, "attached content"},
		{"version mismatch", mismatch, "version mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := Driver{}.Parse(formats.NewModule("n.ko", attach(unsigned, tc.cms, formats.ModSig{IDType: 2})))
			if err != nil {
				t.Fatal(err)
			}
			if !hasNote(sig.Notes, tc.note) {
				t.Errorf("notes %q lack %q", sig.Notes, tc.note)
			}
			if tc.name == "version mismatch" {
				v := Driver{}.Verify(formats.NewModule("n.ko", attach(unsigned, tc.cms, formats.ModSig{IDType: 2})), ring(t, "rsa2048"), formats.Policy{})
				if v.Outcome != formats.Corrupt || v.Enforcing != formats.ErrnoEBADMSG {
					t.Errorf("Verify: %v", v)
				}
			}
		})
	}
}
