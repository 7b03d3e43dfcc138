package keys

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestRSAKeyC: RSAKeyC's text reads back as the key, in a Ring too; a file that is not one
// whole key is refused, saying what is wrong.
func TestRSAKeyC(t *testing.T) {
	for _, name := range []string{"rsa2048.key", "rsa4096.key"} {
		m, err := LoadFile(keyPath(name))
		if err != nil {
			t.Fatal(err)
		}
		pub := m.Public().(*rsa.PublicKey)
		text := RSAKeyC(pub)
		if !IsRSAKeyC(text) {
			t.Fatalf("%s: IsRSAKeyC false", name)
		}
		got, err := ParseRSAKeyC(text)
		if err != nil || !SamePublic(got, pub) {
			t.Fatalf("%s: read back %v", name, err)
		}
		r := &Ring{}
		if err := r.Add(text); err != nil || len(r.Keys) != 1 || !SamePublic(r.Keys[0], pub) {
			t.Fatalf("%s: Ring.Add: %v", name, err)
		}
	}
	m, err := LoadFile(keyPath("rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(RSAKeyC(m.Public().(*rsa.PublicKey)))
	eArray := "0x00, 0x11, 0x01, 0x00, 0x01, "
	// withE is good with another e array of size bytes.
	withE := func(arr string, size int) string {
		return strings.Replace(strings.Replace(good, eArray, arr, 1), "rsa_key_e_size = 5", "rsa_key_e_size = "+strconv.Itoa(size), 1)
	}
	for _, c := range []struct {
		name, text, says string
	}{
		{"e before n, decimal bytes, no sizes", "const char rsa_key_e[] = { 0, 17, 1, 0, 1 };\n" + strings.Split(good, "\nconst int rsa_key_n_size")[0], ""},
		{"no e", strings.Split(good, "const char rsa_key_e")[0], "no rsa_key_e array"},
		{"wrong n size", strings.Replace(good, "rsa_key_n_size = 258", "rsa_key_n_size = 257", 1), "rsa_key_n_size is \"257\", but the array has 258 bytes"},
		{"byte over 255", strings.Replace(good, eArray, "0x00, 0x11, 0x101, 0x00, 0x01, ", 1), `"0x101" is not a byte value`},
		{"bit count and bytes disagree", withE("0x00, 0x11, 0x01, 0x00, ", 4), "MPI of 17 bits, which takes 3 bytes, not 2"},
		{"leading zero byte", withE("0x00, 0x11, 0x00, 0x01, 0x00, 0x01, ", 6), "takes 3 bytes, not 4"},
		{"bit count above the top bit", withE("0x00, 0x12, 0x01, 0x00, 0x01, ", 5), "says 18 bits and has 17"},
		{"exponent 1", withE("0x00, 0x01, 0x01, ", 3), "exponent 1 does not make an RSA key"},
		{"no initializer", strings.Replace(good, "rsa_key_n[] = {", "rsa_key_n[];", 1), "no { ... } initializer"},
		{"huge array", "const char rsa_key_n[] = {" + strings.Repeat("0xff, ", maxRSAKeyCMPI+1) + "};\nconst char rsa_key_e[] = {" + eArray + "};", "more than 2050 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseRSAKeyC([]byte(c.text))
			if c.says == "" {
				if err != nil || !SamePublic(k, m.Public()) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v, want one saying %q", err, c.says)
			}
			if rerr := (&Ring{}).Add([]byte(c.text)); rerr == nil {
				t.Fatal("Ring.Add took it")
			}
		})
	}
	// The error gives the offset of the bad value.
	bad := strings.Replace(good, eArray, "0x00, 0x11, 0x101, 0x00, 0x01, ", 1)
	if _, err := ParseRSAKeyC([]byte(bad)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("offset %d: ", strings.Index(bad, "0x101"))) {
		t.Errorf("err = %v, want the offset %d of 0x101", err, strings.Index(bad, "0x101"))
	}
	if IsRSAKeyC(bytes.Repeat([]byte("x"), 100)) {
		t.Fatal("IsRSAKeyC of text without the arrays")
	}
}
