package kerneltest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
)

// sampleLog has the shape of a real boot log (testdata/serial-*.log are real ones): kernel
// lines before ORACLE-BEGIN, CRLF line ends from the serial port, a module with no taint.
const sampleLog = "[    0.000000] Linux version 6.1.192\r\n" +
	"ORACLE-BEGIN\r\n" +
	"CMDLINE console=ttyS0 panic=-1 module.sig_enforce=1\r\n" +
	"SIG_ENFORCE Y\r\n" +
	"BOOT [    0.512000] Loaded X.509 cert 'kmodsig trusted RSA-2048: 38742bc0'\r\n" +
	"KEY 0a1b2c3d I------     1 perm 1f010000     0     0 asymmetri kmodsig trusted RSA-2048: 38742bc0 X509.rsa 38742bc0 []\r\n" +
	"RESULT 01-ok rc=0 modtaint=O tainted=4096 err=\r\n" +
	"DMESG 01-ok: [    1.000000] kmodsig-kernel-hello: loaded\r\n" +
	"RESULT 02-plain rc=0 modtaint= tainted=4096 err=\r\n" +
	"RESULT 03-bad rc=129 modtaint=- tainted=4096 err=insmod: can't insert '/mods/03-bad.ko': Key was rejected by service \r\n" +
	"DMESG 03-bad: [    1.100000] Loading of unsigned module is rejected\r\n" +
	"DMESG 03-bad: [    1.100001] Loading of unsigned module is rejected\r\n" +
	"RESULT 04-odd rc=200 modtaint=- tainted=4096 err=x\r\n" +
	"UPTIME 1.20 1.00\r\n" +
	"ORACLE-END\r\n" +
	"RESULT after-end rc=0 modtaint=- tainted=0 err=\r\n"

func TestParseSerial(t *testing.T) {
	b, err := ParseSerial(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Begun || !b.Complete || b.SigEnforce != "Y" || b.Uptime != "1.20 1.00" ||
		b.Cmdline != "console=ttyS0 panic=-1 module.sig_enforce=1" || len(b.BootLines) != 1 || len(b.Keys) != 1 {
		t.Fatalf("header fields: %+v", b)
	}
	tests := []struct {
		name     string
		code     int
		errno    formats.Errno
		modTaint string
		dmesg    int
		msg      string
	}{
		{"01-ok", 0, formats.ErrnoOK, "O", 1, ""},
		{"02-plain", 0, formats.ErrnoOK, "", 0, ""},
		{"03-bad", 129, formats.ErrnoEKEYREJECTED, "-", 2, "insmod: can't insert '/mods/03-bad.ko': Key was rejected by service"},
		{"04-odd", 200, "errno(200)", "-", 0, "x"},
	}
	if len(b.Results) != len(tests) {
		t.Fatalf("%d results, want %d (lines after ORACLE-END must be ignored)", len(b.Results), len(tests))
	}
	for _, tt := range tests {
		r := b.Result(tt.name)
		if r == nil {
			t.Errorf("%s: missing", tt.name)
			continue
		}
		if r.Code != tt.code || r.Errno != tt.errno || r.ModTaint != tt.modTaint || len(r.Dmesg) != tt.dmesg ||
			r.Message != tt.msg || r.Tainted != 4096 {
			t.Errorf("%s: got %+v", tt.name, *r)
		}
	}
	if b.Result("after-end") != nil {
		t.Error("a RESULT after ORACLE-END was kept")
	}
}

func TestParseSerialIncomplete(t *testing.T) {
	b, err := ParseSerial(strings.NewReader("ORACLE-BEGIN\nRESULT a rc=0 modtaint=O tainted=0 err="))
	if err != nil {
		t.Fatal(err)
	}
	if b.Complete || len(b.Results) != 1 {
		t.Fatalf("got complete=%v results=%d", b.Complete, len(b.Results))
	}
}

func TestParseSerialErrors(t *testing.T) {
	tests := []struct {
		name string
		log  string
		off  int64
	}{
		{"no name", "ORACLE-BEGIN\nRESULT  rc=0 modtaint=- tainted=0 err=\n", 13},
		{"no rc", "ORACLE-BEGIN\nRESULT a modtaint=- tainted=0 err=\n", 13},
		{"bad rc", "ORACLE-BEGIN\nRESULT a rc=x modtaint=- tainted=0 err=\n", 13},
		{"rc too big", "ORACLE-BEGIN\nRESULT a rc=256 modtaint=- tainted=0 err=\n", 13},
		{"bad taint", "ORACLE-BEGIN\nRESULT a rc=0 modtaint=- tainted=-1 err=\n", 13},
		{"no err", "ORACLE-BEGIN\nRESULT a rc=0 modtaint=- tainted=0\n", 13},
		{"orphan dmesg", "ORACLE-BEGIN\nDMESG a: x\n", 13},
		{"dmesg of another module", "ORACLE-BEGIN\nRESULT a rc=0 modtaint=- tainted=0 err=\nDMESG b: x\n", 53},
		{"long line", "ORACLE-BEGIN\n" + strings.Repeat("x", MaxSerialLine+1) + "\n", 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSerial(strings.NewReader(tt.log))
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *formats.FormatError", err)
			}
			if fe.Format != SerialFormat || fe.Off != tt.off {
				t.Errorf("got format %q offset %d, want %q %d (%v)", fe.Format, fe.Off, SerialFormat, tt.off, err)
			}
		})
	}
}

func TestErrnoNames(t *testing.T) {
	for _, e := range []formats.Errno{formats.ErrnoOK, formats.ErrnoEKEYREJECTED, formats.ErrnoENOKEY,
		formats.ErrnoEBADMSG, formats.ErrnoENOPKG, formats.ErrnoEKEYEXPIRED, formats.ErrnoELIBBAD,
		formats.ErrnoEPERM, formats.ErrnoEINVAL, formats.ErrnoENOENT} {
		if got := ErrnoName(e.Number()); got != e {
			t.Errorf("ErrnoName(%d) = %s, want %s", e.Number(), got, e)
		}
	}
	// ORACLES.md section 8.4: busybox insmod exit statuses seen on Linux 6.1.
	for n, want := range map[int]formats.Errno{129: "EKEYREJECTED", 74: "EBADMSG", 126: "ENOKEY", 65: "ENOPKG", 22: "EINVAL", 300: "errno(300)"} {
		if got := ErrnoName(n); got != want {
			t.Errorf("ErrnoName(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestParseRealLogs parses the serial logs of real boots kept in testdata.
func TestParseRealLogs(t *testing.T) {
	logs, _ := filepath.Glob("testdata/serial-*.log")
	if len(logs) == 0 {
		t.Skip("no testdata/serial-*.log")
	}
	for _, p := range logs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseSerial(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !b.Complete || len(b.Results) == 0 {
			t.Errorf("%s: complete=%v, %d results", p, b.Complete, len(b.Results))
		}
		for _, r := range b.Results {
			if strings.HasPrefix(string(r.Errno), "errno(") {
				t.Errorf("%s: %s: unnamed errno %d", p, r.Name, r.Code)
			}
		}
	}
}

func FuzzParseSerial(f *testing.F) {
	f.Add([]byte(sampleLog))
	logs, _ := filepath.Glob("testdata/serial-*.log")
	for _, p := range logs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseSerial(strings.NewReader(string(data)))
		if err != nil {
			var fe *formats.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *formats.FormatError", err)
			}
			if fe.Off < 0 || fe.Off > int64(len(data)) {
				t.Fatalf("offset %d outside the input of %d bytes", fe.Off, len(data))
			}
			return
		}
		for _, r := range b.Results {
			if r.Name == "" || r.Code < 0 || r.Code > 255 {
				t.Fatalf("accepted a bad result %+v", r)
			}
		}
	})
}
