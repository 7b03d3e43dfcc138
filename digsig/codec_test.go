package digsig

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v1Sample is a hand-built v1 signature: 16-byte header, MPI of 16 bits.
const v1Sample = "01 6176046b 00 00 00aabf99498480e9 01 0010 abcd"

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		version uint8
		keyDesc string
		hash    string
	}{
		{"v1", v1Sample, 1, "AABF99498480E9", "sha1"},
		{"v1 sha256 odd bits", "01 00000000 00 01 0102030405060708 01 0009 01ff", 1, "102030405060708", "sha256"},
		{"v1 zero-bit MPI", "01 00000000 00 00 ffffffffffffffff 01 0000", 1, "FFFFFFFFFFFFFFFF", "sha1"},
		{"v2 rsa", "02 04 17f21b4a 0003 aabbcc", 2, "id:17f21b4a", "sha256"},
		{"v2 empty sig", "02 02 00000001 0000", 2, "id:00000001", "sha1"},
		{"v3", "03 14 deadbeef 0001 00", 3, "id:deadbeef", "sha3-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustHex(t, tt.in)
			s, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != tt.version || s.KeyDescription() != tt.keyDesc || s.HashName() != tt.hash {
				t.Errorf("got v%d %q %q, want v%d %q %q", s.Version, s.KeyDescription(), s.HashName(), tt.version, tt.keyDesc, tt.hash)
			}
			if out := s.Marshal(); !bytes.Equal(out, in) {
				t.Errorf("Marshal = %x, want %x", out, in)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		off  int64
		msg  string
	}{
		{"empty", "", 0, "empty"},
		{"unknown version", "04 00", 0, "unknown digsig version 4"},
		{"v1 short", "01 00000000 00 00 0000000000000000 01 00", 0, "shorter than the 18-byte minimum"},
		{"v1 MPI too long", "01 00000000 00 00 0000000000000000 01 0011 abcd", 16, "needs 3 bytes, 2 follow"},
		{"v1 trailing byte", "01 00000000 00 00 0000000000000000 01 0008 abcd", 16, "needs 1 bytes, 2 follow"},
		{"v1 over limit", "01 00000000 00 00 0000000000000000 01 4001", 16, "exceeds the kernel's 16384-bit limit"},
		{"v2 short", "02 04 00000000 00", 0, "shorter than its 8-byte header"},
		{"v2 size mismatch", "02 04 00000000 0002 aa", 6, "sig_size 2 does not match the 1 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(mustHex(t, tt.in))
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *formats.FormatError", err)
			}
			if fe.Off != tt.off || !strings.Contains(fe.Msg, tt.msg) || fe.Format != "digsig" {
				t.Errorf("got %v (off %d), want offset %d and %q", err, fe.Off, tt.off, tt.msg)
			}
		})
	}
}

func TestV1Description(t *testing.T) {
	tests := []struct{ id, want string }{
		{"00aabf99498480e9", "AABF99498480E9"}, // leading zeros dropped, as %llX does (seen with evmctl)
		{"0000000000000001", "1"},
		{"0000000000000000", "0"},
		{"fedcba9876543210", "FEDCBA9876543210"},
	}
	for _, tt := range tests {
		if got := V1Description(mustHex(t, tt.id)); got != tt.want {
			t.Errorf("V1Description(%s) = %s, want %s", tt.id, got, tt.want)
		}
	}
}

func TestTimestampLittleEndian(t *testing.T) {
	s, err := Parse(mustHex(t, v1Sample))
	if err != nil {
		t.Fatal(err)
	}
	// 6176046b read little-endian is 0x6b047661 = 2026-11-23T17:22:41Z (an evmctl run).
	if got := s.Timestamp().Unix(); got != 0x6b047661 {
		t.Errorf("Timestamp = %#x, want 0x6b047661", got)
	}
}

func TestKernelHashTable(t *testing.T) {
	// Values from FORMATS.md "Hash numbering tables" (kernel hash_algo).
	want := map[uint8]string{0: "md4", 1: "md5", 2: "sha1", 3: "rmd160", 4: "sha256", 5: "sha384",
		6: "sha512", 7: "sha224", 8: "rmd128", 11: "wp256", 17: "sm3-256", 18: "streebog256", 20: "sha3-256", 22: "sha3-512"}
	for v, name := range want {
		if got := KernelHashName(v); got != name {
			t.Errorf("KernelHashName(%d) = %s, want %s", v, got, name)
		}
	}
	if got := KernelHashName(23); got != "hash_algo(23)" {
		t.Errorf("KernelHashName(23) = %s", got)
	}
	for _, v := range []uint8{0, 8, 17, 18, 23} {
		if _, ok := KernelHash(v); ok {
			t.Errorf("KernelHash(%d) claims support", v)
		}
	}
}

func TestDecodeEMSA(t *testing.T) {
	h := bytes.Repeat([]byte{0x5a}, 20)
	pad := func(prefix string, n int) []byte { // 00 01 ‖ n×FF ‖ prefix ‖ h
		b := append([]byte{0, 1}, bytes.Repeat([]byte{0xff}, n)...)
		b = append(b, mustHex(t, prefix)...)
		return append(b, h...)
	}
	tests := []struct {
		name string
		em   []byte
		ok   bool
		msg  []byte
	}{
		{"standard", pad("00", 41), true, h},
		{"no FF at all", append(pad("00", 0), bytes.Repeat([]byte{0}, 41)...), true, append(h, bytes.Repeat([]byte{0}, 41)...)},
		{"three FF", append(pad("00", 3), bytes.Repeat([]byte{0}, 38)...), true, append(h, bytes.Repeat([]byte{0}, 38)...)},
		{"no separator", pad("01", 41), false, nil},
		{"type 2", append([]byte{0, 2}, pad("00", 41)[2:]...), false, nil},
		{"leading non-zero", append([]byte{1, 1}, pad("00", 41)[2:]...), false, nil},
		{"all FF", append([]byte{0, 1}, bytes.Repeat([]byte{0xff}, 62)...), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.em) != 64 {
				t.Fatalf("test block is %d bytes", len(tt.em))
			}
			m, err := decodeEMSA(tt.em, 512)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(m, tt.msg) {
				t.Errorf("message %x, want %x", m, tt.msg)
			}
		})
	}
	if _, err := decodeEMSA(make([]byte, 10), 80); err == nil {
		t.Error("10-byte modulus accepted")
	}
}
