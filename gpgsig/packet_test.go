package gpgsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

func TestReadPacketHeaders(t *testing.T) {
	body := func(n int) []byte { return bytes.Repeat([]byte{0xaa}, n) }
	for _, c := range []struct {
		name      string
		in        []byte
		tag       byte
		newFmt    bool
		lenBytes  int
		bodyLen   int
		wantErrAt int64 // -2: no error
	}{
		{"old 1-byte", append([]byte{0x88, 3}, body(3)...), 2, false, 1, 3, -2},
		{"old 2-byte", append([]byte{0x89, 0x01, 0x00}, body(256)...), 2, false, 2, 256, -2},
		{"old 4-byte", append([]byte{0x8a, 0, 0, 0, 2}, body(2)...), 2, false, 4, 2, -2},
		{"old public key", append([]byte{0x99, 0, 1}, body(1)...), 6, false, 2, 1, -2},
		{"new 1-byte", append([]byte{0xc2, 191}, body(191)...), 2, true, 1, 191, -2},
		{"new 2-byte", append([]byte{0xc2, 192, 0}, body(192)...), 2, true, 2, 192, -2},
		{"new 5-byte", append([]byte{0xc2, 0xff, 0, 0, 0, 1}, body(1)...), 2, true, 5, 1, -2},
		{"trailing bytes ignored", append([]byte{0x88, 1}, body(5)...), 2, false, 1, 1, -2},
		{"empty", nil, 0, false, 0, 0, 0},
		{"no packet bit", []byte{0x42, 0}, 0, false, 0, 0, 0},
		{"indeterminate", []byte{0x8b, 0}, 0, false, 0, 0, 0},
		{"partial", []byte{0xc2, 0xe1, 0}, 0, false, 0, 0, 1},
		{"old header truncated", []byte{0x89, 1}, 0, false, 0, 0, 1},
		{"new header truncated", []byte{0xc2}, 0, false, 0, 0, 1},
		{"new 2-byte truncated", []byte{0xc2, 0xc0}, 0, false, 0, 0, 1},
		{"new 5-byte truncated", []byte{0xc2, 0xff, 0, 0}, 0, false, 0, 0, 1},
		{"body overruns", append([]byte{0x88, 9}, body(8)...), 0, false, 0, 0, 1},
		{"huge 4-byte length", []byte{0x8a, 0xff, 0xff, 0xff, 0xff, 0}, 0, false, 0, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, n, err := ReadPacket(c.in)
			if c.wantErrAt != -2 {
				var fe *formats.FormatError
				if !errors.As(err, &fe) || fe.Off != c.wantErrAt || !errors.Is(err, ErrMalformed) {
					t.Fatalf("err %v, want FormatError at %d", err, c.wantErrAt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Tag != c.tag || p.NewFormat != c.newFmt || p.LenBytes != c.lenBytes || len(p.Body) != c.bodyLen || n != p.HeaderLen+c.bodyLen {
				t.Fatalf("got %+v n=%d", p, n)
			}
			h, err := AppendHeader(nil, p.Tag, p.NewFormat, p.LenBytes, len(p.Body))
			if err != nil || !bytes.Equal(h, c.in[:p.HeaderLen]) {
				t.Fatalf("AppendHeader = %x, %v; want %x", h, err, c.in[:p.HeaderLen])
			}
		})
	}
}

func TestAppendHeaderGnuPGChoice(t *testing.T) {
	for _, c := range []struct {
		tag  byte
		n    int
		want []byte
	}{
		{2, 0x46, []byte{0x88, 0x46}},
		{2, 0x11c, []byte{0x89, 0x01, 0x1c}},
		{2, 70000, []byte{0x8a, 0, 1, 0x11, 0x70}},
		{6, 0x10d, []byte{0x99, 0x01, 0x0d}},
		{13, 0x20, []byte{0xb4, 0x20}},
		{20, 5, []byte{0xd4, 5}},
	} {
		got, err := AppendHeader(nil, c.tag, false, 0, c.n)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("tag %d len %d: %x %v, want %x", c.tag, c.n, got, err, c.want)
		}
	}
	if _, err := AppendHeader(nil, 2, false, 1, 300); err == nil {
		t.Error("1-byte old length accepted 300")
	}
	if _, err := AppendHeader(nil, 2, true, 1, 200); err == nil {
		t.Error("1-byte new length accepted 200")
	}
}

// TestParseSigMalformed: every length inside a signature packet is checked; each failure is
// a *formats.FormatError with the offset of the field at fault.
func TestParseSigMalformed(t *testing.T) {
	good, err := os.ReadFile("testdata/v4-rsa-sha256-old.sig")
	if err != nil {
		t.Fatal(err)
	}
	v3, err := os.ReadFile("testdata/v3-rsa-sha1-old.sig")
	if err != nil {
		t.Fatal(err)
	}
	// pkt wraps a body in an old-format 2-byte header (3 bytes).
	pkt := func(body []byte) []byte {
		b, _ := AppendHeader(nil, TagSignature, false, 2, len(body))
		return append(b, body...)
	}
	body := good[3:]
	hl := int(body[4])<<8 | int(body[5]) // hashed length
	with := func(f func(b []byte) []byte) []byte { return pkt(f(bytes.Clone(body))) }
	for _, c := range []struct {
		name  string
		in    []byte
		off   int64
		cause error
	}{
		{"not a signature", append([]byte{0x99, 0, 1}, 4), 0, ErrNotSignature},
		{"empty body", pkt(nil), 3, ErrMalformed},
		{"version 5", with(func(b []byte) []byte { b[0] = 5; return b }), 3, ErrUnsupportedVersion},
		{"v4 too short", pkt(body[:5]), 3, ErrMalformed},
		{"hashed area overruns", with(func(b []byte) []byte { b[4] = 0xff; return b }), 3 + 4, ErrMalformed},
		{"unhashed length truncated", pkt(body[:6+hl+1]), 3 + 6 + int64(hl), ErrMalformed},
		{"subpacket overruns area", with(func(b []byte) []byte { b[6] = 0x20; return b }), 3 + 6, ErrMalformed},
		{"zero-length subpacket", with(func(b []byte) []byte { b[6] = 0; return b }), 3 + 6, ErrMalformed},
		{"left16 truncated", pkt(body[:len(body)-258-1]), int64(3 + len(body) - 258 - 2), ErrMalformed},
		{"no MPI", pkt(body[:len(body)-258]), int64(3 + len(body) - 258), ErrMalformed},
		{"MPI overruns", pkt(body[:len(body)-1]), int64(3 + len(body) - 258), ErrMalformed},
		{"MPI length truncated", pkt(append(bytes.Clone(body), 0x01)), int64(3 + len(body)), ErrMalformed},
		{"v3 short", pkt(v3[3:15]), 3, ErrMalformed},
		{"v3 hashed length not 5", pkt(append([]byte{3, 6}, v3[5:]...)), 4, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseSig(c.in)
			var fe *formats.FormatError
			if !errors.As(err, &fe) || fe.Off != c.off || !errors.Is(err, c.cause) {
				t.Fatalf("err %v, want FormatError at %d wrapping %v", err, c.off, c.cause)
			}
		})
	}
	// Sanity: the base packet parses.
	if _, _, err := ParseSig(good); err != nil {
		t.Fatal(err)
	}
}

func TestRebase(t *testing.T) {
	_, _, err := ParseSig([]byte{0x88, 9, 1})
	m := formats.NewModule("x.ko", nil)
	err = Rebase(err, m, ID, 1000)
	var fe *formats.FormatError
	if !errors.As(err, &fe) || fe.Path != "x.ko" || fe.Format != ID || fe.Off != 1001 || !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v", err)
	}
}

func seedSigs(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.sig")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseSig: no panics; an accepted packet marshals back to exactly the bytes it used.
func FuzzParseSig(f *testing.F) {
	seedSigs(f)
	f.Add([]byte{0xc2, 0x05, 0x04, 0x00, 0x01, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, n, err := ParseSig(b)
		if err != nil {
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed packet: %v", err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("round trip differs:\n%x\n%x", out, b[:n])
		}
		s.HashSuffix()
		s.Subpackets()
	})
}
