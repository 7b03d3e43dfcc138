package digsig

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/keys"
)

func sign(t *testing.T, unsigned []byte, tk *testKey, o formats.SignOptions) []byte {
	t.Helper()
	out, err := Driver{}.Sign(unsigned, tk.m, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mod(b []byte) formats.Module { return formats.NewModule("test.ko", b) }

func TestSignLayout(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	when := time.Date(2012, 8, 15, 12, 0, 0, 0, time.UTC)
	signed := sign(t, ko, tk, formats.SignOptions{Time: when})
	if !bytes.HasPrefix(signed, ko) || !bytes.HasSuffix(signed, []byte(formats.Magic30)) {
		t.Fatal("not payload ‖ ... ‖ magic")
	}
	rest := signed[len(ko) : len(signed)-30]
	S := int(binary.BigEndian.Uint16(rest[len(rest)-2:]))
	if S != len(rest)-2 || S != 16+2+256 {
		t.Fatalf("S = %d, signature part %d bytes, want 274", S, len(rest)-2)
	}
	id := keys.DigsigKeyID(tk.rsaPub)
	want := []byte{1, 0, 0, 0, 0, AlgoRSA, HashV1SHA1}
	binary.LittleEndian.PutUint32(want[1:5], uint32(when.Unix()))
	want = append(want, id[:]...)
	want = append(want, 1, 0x08, 0x00) // nmpi 1, MPI bit count 2048 = 256 × 8
	if !bytes.Equal(rest[:18], want) {
		t.Errorf("header %x, want %x", rest[:18], want)
	}
	// Deterministic: the same inputs give the same bytes; the key material's time is the default.
	if again := sign(t, ko, tk, formats.SignOptions{Time: when}); !bytes.Equal(again, signed) {
		t.Error("signing is not deterministic")
	}
	def := sign(t, ko, tk, formats.SignOptions{})
	if got := binary.LittleEndian.Uint32(def[len(ko)+1:]); int64(got) != tk.m.CreationTime().Unix() {
		t.Errorf("default timestamp %d, want the material's %d", got, tk.m.CreationTime().Unix())
	}
}

func TestDriverRoundTrip(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048")
	ecKey := loadKey(t, "ecdsa-p256")
	ko := helloKO(t)
	tests := []struct {
		name    string
		tk      *testKey
		o       formats.SignOptions
		variant string
		hash    string
	}{
		{"v1 sha1", rsaKey, formats.SignOptions{}, "v1", "sha1"},
		{"v1 sha256", rsaKey, formats.SignOptions{Hash: crypto.SHA256}, "v1", "sha256"},
		{"v2 sha256", rsaKey, formats.SignOptions{Variant: "v2"}, "v2", "sha256"},
		{"v2 sha512", rsaKey, formats.SignOptions{Variant: "v2", Hash: crypto.SHA512}, "v2", "sha512"},
		{"v2 ecdsa forced", ecKey, formats.SignOptions{Variant: "v2", Force: true}, "v2", "sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var warned []string
			tt.o.Warn = func(s string) { warned = append(warned, s) }
			signed := sign(t, ko, tt.tk, tt.o)
			m := mod(signed)
			if !(Driver{}).Detect(m) {
				t.Fatal("Detect = false")
			}
			if d := formats.Detect(m); d == nil || d.ID() != ID {
				t.Fatalf("formats.Detect = %v", d)
			}
			sig, err := Driver{}.Parse(m)
			if err != nil {
				t.Fatal(err)
			}
			if sig.Variant != tt.variant || sig.HashAlgo != tt.hash || sig.PayloadLen != int64(len(ko)) ||
				sig.Offset != int64(len(ko)) || sig.Offset+sig.Length != int64(len(signed)) {
				t.Errorf("Parse = %+v", sig)
			}
			stripped, err := Driver{}.Strip(m)
			if err != nil || !bytes.Equal(stripped, ko) {
				t.Fatalf("Strip: %v, equal=%v", err, bytes.Equal(stripped, ko))
			}
			v := Driver{}.Verify(m, tt.tk.ring(), formats.Policy{})
			if v.Outcome != formats.OK || v.Permissive != formats.ErrnoOK || v.Enforcing != formats.ErrnoOK || v.Format != ID || v.Hash != tt.hash {
				t.Fatalf("Verify = %+v", v)
			}
			if tt.tk == ecKey && len(warned) == 0 {
				t.Error("forced ECDSA signing gave no warning")
			}
		})
	}
}

func TestSignRefusals(t *testing.T) {
	rsaKey := loadKey(t, "rsa2048")
	ecKey := loadKey(t, "ecdsa-p256")
	tests := []struct {
		name string
		k    *keys.Material
		o    formats.SignOptions
		want error
	}{
		{"v1 ecdsa", ecKey.m, formats.SignOptions{}, formats.ErrKeyType},
		{"v1 ecdsa forced", ecKey.m, formats.SignOptions{Force: true}, formats.ErrKeyType},
		{"v2 ecdsa unforced", ecKey.m, formats.SignOptions{Variant: "v2"}, formats.ErrKeyType},
		{"v1 sha512", rsaKey.m, formats.SignOptions{Hash: crypto.SHA512}, formats.ErrHash},
		{"v2 md4", rsaKey.m, formats.SignOptions{Variant: "v2", Hash: crypto.MD4}, formats.ErrHash},
		{"no signer", &keys.Material{}, formats.SignOptions{}, formats.ErrKeyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := (Driver{}).Sign([]byte("module"), tt.k, tt.o); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := (Driver{}).Sign([]byte("m"), rsaKey.m, formats.SignOptions{Variant: "v9"}); err == nil {
		t.Error("unknown variant accepted")
	}
	if _, err := (Driver{}).Sign([]byte("m"), rsaKey.m, formats.SignOptions{Time: time.Unix(1<<32, 0)}); err == nil {
		t.Error("time after 2106 accepted")
	}
}

// TestVerdicts walks the verdict table of FORMATS.md digsig2012.
func TestVerdicts(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	other := loadKey(t, "untrusted-rsa2048")
	ko := helloKO(t)
	v1 := sign(t, ko, tk, formats.SignOptions{})
	v2 := sign(t, ko, tk, formats.SignOptions{Variant: "v2"})
	n1 := len(ko) // offset of the v1 signature part
	id := keys.DigsigKeyID(tk.rsaPub)
	desc := V1Description(id[:])
	edit := func(b []byte, f func([]byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}
	tests := []struct {
		name          string
		m             []byte
		ring          *keys.Ring
		outcome       formats.Outcome
		perm, enforce formats.Errno
		reason        string
	}{
		{"v1 ok", v1, tk.ring(), formats.OK, "OK", "OK", desc},
		{"unsigned", ko, tk.ring(), formats.Unsigned, "OK", "ENOKEY", "no digsig2012 trailer"},
		{"v1 unknown key", v1, other.ring(), formats.UnknownKey, "OK", "ENOKEY", `user key "` + desc + `"`},
		{"v1 empty ring", v1, nil, formats.UnknownKey, "OK", "ENOKEY", desc},
		{"v1 payload flipped", edit(v1, func(b []byte) { b[100] ^= 1 }), tk.ring(), formats.BadSignature, "EINVAL", "EINVAL", "does not match"},
		{"v1 timestamp flipped", edit(v1, func(b []byte) { b[n1+1] ^= 1 }), tk.ring(), formats.BadSignature, "EINVAL", "EINVAL", "does not match"},
		{"v1 signature flipped", edit(v1, func(b []byte) { b[n1+100] ^= 1 }), tk.ring(), formats.BadSignature, "EINVAL", "EINVAL", "does not match"},
		{"v1 algo 1", edit(v1, func(b []byte) { b[n1+5] = 1 }), tk.ring(), formats.Unsupported, "ENOTSUPP", "ENOTSUPP", "not RSA"},
		{"v1 hash field 1 over sha1 digest", edit(v1, func(b []byte) { b[n1+6] = 1 }), tk.ring(), formats.BadSignature, "EINVAL", "EINVAL", "does not match"},
		{"v1 MPI bits off", edit(v1, func(b []byte) { b[n1+17] = 1 }), tk.ring(), formats.Corrupt, "EINVAL", "EINVAL", "MPI"},
		{"S too large", edit(v1, func(b []byte) { binary.BigEndian.PutUint16(b[len(b)-32:], 0x1fff) }), tk.ring(), formats.Corrupt, "EINVAL", "EINVAL", "exceeds"},
		{"S zero", edit(v1, func(b []byte) { binary.BigEndian.PutUint16(b[len(b)-32:], 0) }), tk.ring(), formats.Corrupt, "EINVAL", "EINVAL", "length is 0"},
		{"v2 ok", v2, tk.ring(), formats.OK, "OK", "OK", ""},
		{"v2 unknown key", v2, other.ring(), formats.UnknownKey, "OK", "ENOKEY", "id:"},
		{"v2 payload flipped", edit(v2, func(b []byte) { b[100] ^= 1 }), tk.ring(), formats.BadSignature, "EKEYREJECTED", "EKEYREJECTED", "does not match"},
		{"v2 hash_algo streebog", edit(v2, func(b []byte) { b[len(ko)+1] = 18 }), tk.ring(), formats.Unsupported, "ENOPKG", "ENOPKG", "streebog256"},
		{"v2 sig_size off", edit(v2, func(b []byte) { b[len(ko)+7]-- }), tk.ring(), formats.Corrupt, "EBADMSG", "EBADMSG", "sig_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Driver{}.Verify(mod(tt.m), tt.ring, formats.Policy{})
			if v.Outcome != tt.outcome || v.Permissive != tt.perm || v.Enforcing != tt.enforce || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("Verify = %s", v)
			}
			if v.Outcome == formats.Corrupt {
				var fe *formats.FormatError
				if !errors.As(v.Err, &fe) || fe.Path != "test.ko" || fe.Format != ID {
					t.Errorf("corrupt verdict error %v is not a FormatError of test.ko/%s", v.Err, ID)
				}
			}
		})
	}
}

// TestHashFieldQuirk: evmctl at 203f058 wrote hash field 0 even with -a sha256; the verifier
// accepts it with a note.
func TestHashFieldQuirk(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	d, _ := formats.Digest(crypto.SHA256, bytes.NewReader(ko))
	s, err := SignDigestV1(d, HashV1SHA1, keys.DefaultCreated, tk.m.Signer)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := AppendTrailer(ko, s.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	v := Driver{}.Verify(mod(signed), tk.ring(), formats.Policy{})
	if v.Outcome != formats.OK || v.Hash != "sha256" || len(v.Notes) == 0 {
		t.Errorf("Verify = %+v", v)
	}
}

// TestKeyringForms: the v1 blob, a PEM or DER public key and a certificate all work as a
// keyring (keys.Ring.Add), for v1 and v2.
func TestKeyringForms(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	blob, name, err := Driver{}.ExportKey(tk.m, formats.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := keys.DigsigKeyID(tk.rsaPub)
	if name != V1Description(id[:])+".digsig" || !keys.IsDigsigBlob(blob) {
		t.Fatalf("ExportKey v1 = %q", name)
	}
	der, name2, err := Driver{}.ExportKey(tk.m, formats.SignOptions{Variant: "v2"})
	if err != nil || name2 != "x509_ima.der" || !bytes.Equal(der, tk.m.Cert.Raw) {
		t.Fatalf("ExportKey v2: %v %q", err, name2)
	}
	pubPEM := readFile(t, tk.pub)
	spki, err := x509.MarshalPKIXPublicKey(tk.m.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{"blob": blob, "pem public key": pubPEM, "der public key": spki, "der certificate": der, "pem certificate": pemCert(tk)}
	for _, variant := range []string{"v1", "v2"} {
		signed := sign(t, ko, tk, formats.SignOptions{Variant: variant})
		for form, data := range forms {
			if variant == "v2" && form == "blob" {
				continue // a v1 blob is a `user` key; v2 needs an asymmetric key
			}
			r := &keys.Ring{}
			if err := r.Add(data); err != nil {
				t.Fatalf("%s: %v", form, err)
			}
			if v := (Driver{}).Verify(mod(signed), r, formats.Policy{}); v.Outcome != formats.OK {
				t.Errorf("%s with %s keyring: %s", variant, form, v)
			}
		}
	}
}

// TestDetectGPG2012: the two MAGIC30 formats never get confused.
func TestDetectGPG2012(t *testing.T) {
	tk := loadKey(t, "rsa2048")
	ko := helloKO(t)
	// A gpg2012-shaped module by hand: payload ‖ OpenPGP signature packet ‖ "%-5s" ‖ magic.
	gpgShaped := func(n int) []byte {
		pkt := append([]byte{0x89, byte((n - 3) >> 8), byte(n - 3), 4, 0, 1, 2}, bytes.Repeat([]byte{0x20}, n-7)...)
		b := append(bytes.Clone(ko), pkt...)
		b = append(b, []byte(padLen(n))...)
		return append(b, formats.Magic30...)
	}
	for _, n := range []int{287, 543, 12345} {
		m := mod(gpgShaped(n))
		if (Driver{}).Detect(m) {
			t.Errorf("digsig2012 claims a gpg2012 module with L=%d", n)
		}
		if _, err := (Driver{}).Parse(m); !errors.Is(err, formats.ErrNotSigned) {
			t.Errorf("Parse of gpg2012 L=%d: %v", n, err)
		}
	}
	for _, variant := range []string{"v1", "v2"} {
		m := mod(sign(t, ko, tk, formats.SignOptions{Variant: variant}))
		l := formats.ReadMagic30Length(m)
		if l.ASCIIOK {
			t.Errorf("%s trailer reads as gpg2012 text", variant)
		}
		if !(Driver{}).Detect(m) {
			t.Errorf("%s not detected", variant)
		}
	}
	// A damaged member of the family (binary length, nonsense signature) is claimed and corrupt.
	bad := append(bytes.Clone(ko), 9, 9, 9, 0, 3)
	bad = append(bad, formats.Magic30...)
	if !(Driver{}).Detect(mod(bad)) {
		t.Error("damaged digsig2012 trailer not claimed")
	}
	if _, err := (Driver{}).Parse(mod(bad)); err == nil {
		t.Error("damaged trailer parsed")
	}
	if (Driver{}).Detect(mod(ko)) || (Driver{}).Detect(mod([]byte(formats.Magic30))) {
		t.Error("claims an unsigned module")
	}
}

func padLen(n int) string {
	s := []byte("     ")
	copy(s, []byte(itoa(n)))
	return string(s)
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
