package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParsePKCS11URI(t *testing.T) {
	one := 1
	tests := []struct {
		uri  string
		want PKCS11URI
		err  bool
	}{
		{uri: "pkcs11:token=modsign;object=modkey;type=private;pin-value=1234",
			want: PKCS11URI{Token: "modsign", Object: "modkey", Type: "private", PINValue: "1234"}},
		{uri: "pkcs11:token=my%20token;id=%01%02?pin-value=12%3B4&module-path=/usr/lib/softhsm/libsofthsm2.so",
			want: PKCS11URI{Token: "my token", ID: []byte{1, 2}, PINValue: "12;4", ModulePath: "/usr/lib/softhsm/libsofthsm2.so"}},
		{uri: "pkcs11:slot-id=1;object=k;manufacturer=SoftHSM%20project?pin-source=file:/tmp/pin",
			want: PKCS11URI{SlotID: &one, Object: "k", PINSource: "file:/tmp/pin", Other: map[string]string{"manufacturer": "SoftHSM project"}}},
		{uri: "pkcs11:serial=abc;id=%AB", want: PKCS11URI{Serial: "abc", ID: []byte{0xab}}},
		{uri: "pkcs11:token=t;object=k;module-name=softhsm2", want: PKCS11URI{Token: "t", Object: "k", ModuleName: "softhsm2"}},
		{uri: "pkcs11:token=t", err: true},                          // no object or id
		{uri: "pkcs11:token=t;object=k;type=cert", err: true},       // not a private key
		{uri: "pkcs11:token=t;object=k;type=bogus", err: true},      // unknown type
		{uri: "pkcs11:token=t;token=u;object=k", err: true},         // repeated
		{uri: "pkcs11:token=t;object", err: true},                   // no '='
		{uri: "pkcs11:token=t;object=%zz", err: true},               // bad escape
		{uri: "pkcs11:slot-id=x;object=k", err: true},               // bad slot
		{uri: "pkcs11:slot-id=-1;object=k", err: true},              // bad slot
		{uri: "file:key.pem", err: true},                            // not pkcs11
		{uri: "pkcs11:object=k?pin-value=1&pin-value=2", err: true}, // repeated in query
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			got, err := ParsePKCS11URI(tt.uri)
			if tt.err {
				if !errors.Is(err, ErrPKCS11URI) {
					t.Fatalf("err = %v, want ErrPKCS11URI", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tt.want.Token || got.Serial != tt.want.Serial || got.Object != tt.want.Object ||
				!bytes.Equal(got.ID, tt.want.ID) || got.Type != tt.want.Type || got.PINValue != tt.want.PINValue ||
				got.PINSource != tt.want.PINSource || got.ModulePath != tt.want.ModulePath || got.ModuleName != tt.want.ModuleName ||
				(got.SlotID == nil) != (tt.want.SlotID == nil) || (got.SlotID != nil && *got.SlotID != *tt.want.SlotID) ||
				len(got.Other) != len(tt.want.Other) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
			for k, v := range tt.want.Other {
				if got.Other[k] != v {
					t.Fatalf("Other[%s] = %q, want %q", k, got.Other[k], v)
				}
			}
		})
	}
}

func TestPKCS11URIPINAndModule(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte("9876\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PINEnv, "envpin")
	t.Setenv(PKCS11ModuleEnv, "/env/module.so")
	tests := []struct {
		uri, pin, module string
	}{
		{"pkcs11:token=t;object=k;pin-value=1234;module-path=/m.so", "1234", "/m.so"},
		{"pkcs11:token=t;object=k?pin-source=file:" + pinFile, "9876", "/env/module.so"},
		{"pkcs11:token=t;object=k?pin-source=" + pinFile, "9876", "/env/module.so"},
		{"pkcs11:token=t;object=k", "envpin", "/env/module.so"},
	}
	for _, tt := range tests {
		u, err := ParsePKCS11URI(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		pin, ok, err := u.PIN()
		if err != nil || !ok || pin != tt.pin {
			t.Errorf("%s: PIN() = %q, %v, %v; want %q", tt.uri, pin, ok, err, tt.pin)
		}
		if m, err := u.Module(); err != nil || m != tt.module {
			t.Errorf("%s: Module() = %q, %v; want %q", tt.uri, m, err, tt.module)
		}
	}
	os.Unsetenv(PINEnv)
	os.Unsetenv(PKCS11ModuleEnv)
	u, _ := ParsePKCS11URI("pkcs11:token=t;object=k")
	if _, ok, _ := u.PIN(); ok {
		t.Error("PIN found with no pin-value, pin-source or KBUILD_SIGN_PIN")
	}
	if _, err := u.Module(); !errors.Is(err, ErrPKCS11URI) {
		t.Errorf("Module() with nothing set: %v", err)
	}
	u, _ = ParsePKCS11URI("pkcs11:token=t;object=k?pin-source=" + filepath.Join(dir, "missing"))
	if _, _, err := u.PIN(); err == nil {
		t.Error("missing pin-source file accepted")
	}
}

func TestRedactPKCS11URI(t *testing.T) {
	for in, want := range map[string]string{
		"pkcs11:token=t;object=k;pin-value=1234":              "pkcs11:token=t;object=k;pin-value=***",
		"pkcs11:token=t;pin-value=1234;object=k":              "pkcs11:token=t;pin-value=***;object=k",
		"pkcs11:token=t;object=k?pin-value=12&module-path=/m": "pkcs11:token=t;object=k?pin-value=***&module-path=/m",
		"pkcs11:token=t;object=k":                             "pkcs11:token=t;object=k",
	} {
		if got := RedactPKCS11URI(in); got != want {
			t.Errorf("RedactPKCS11URI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadFilePKCS11WithoutSupport(t *testing.T) {
	if pkcs11Open != nil {
		t.Skip("built with PKCS#11 support")
	}
	_, err := LoadFile("pkcs11:token=t;object=k")
	if err == nil {
		t.Fatal("pkcs11: URI accepted by a build without PKCS#11 support")
	}
}

func FuzzParsePKCS11URI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=modsign;object=modkey;type=private;pin-value=1234",
		"pkcs11:token=my%20token;id=%01%02?pin-value=12%3B4&module-path=/usr/lib/softhsm/libsofthsm2.so",
		"pkcs11:slot-id=1;object=k?pin-source=file:/dev/null",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParsePKCS11URI(s)
		if err == nil && u.Object == "" && len(u.ID) == 0 {
			t.Fatal("accepted a URI that selects no key")
		}
		_ = RedactPKCS11URI(s)
	})
}
