package kerneltest

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
)

// SerialFormat is the Format of a [formats.FormatError] from [ParseSerial].
const SerialFormat = "kerneltest-serial"

// MaxSerialLine is the longest console line ParseSerial accepts (64 KiB); the guest's lines are
// far shorter.
const MaxSerialLine = 64 << 10

// Boot is what one guest boot reported on its serial console (init.sh).
type Boot struct {
	Cmdline    string   // CMDLINE: /proc/cmdline
	SigEnforce string   // SIG_ENFORCE: /sys/module/module/parameters/sig_enforce ("Y" or "N")
	BootLines  []string // BOOT: boot-time kernel messages about certificates
	Keys       []string // KEY: asymmetric keys in /proc/keys
	Results    []Result // RESULT/DMESG: one per module, in load order
	Uptime     string   // UPTIME: /proc/uptime when the last module was done
	Begun      bool     // saw ORACLE-BEGIN
	Complete   bool     // saw ORACLE-END
	Console    []string // every console line, without the trailing CR
}

// Result is one insmod as the guest reported it.
type Result struct {
	Name     string        // the module's file name without .ko
	Code     int           // insmod's exit status, which busybox makes the errno
	Errno    formats.Errno // Code as a name: "OK", "EKEYREJECTED", ...
	ModTaint string        // /sys/module/<name>/taint after a successful load ("OE"), "-" if not loaded
	Tainted  uint64        // /proc/sys/kernel/tainted after the load
	Message  string        // insmod's own message
	Dmesg    []string      // kernel messages produced by the load
}

// Result returns the result for the module named name, or nil.
func (b *Boot) Result(name string) *Result {
	for i := range b.Results {
		if b.Results[i].Name == name {
			return &b.Results[i]
		}
	}
	return nil
}

// errnoNames maps the Linux x86-64 errno values a module load can end with to their names; the
// values agree with [formats.Errno.Number] (TestErrnoNames checks it).
var errnoNames = map[int]formats.Errno{
	0:   formats.ErrnoOK,
	1:   formats.ErrnoEPERM,
	2:   formats.ErrnoENOENT,
	8:   "ENOEXEC",
	12:  "ENOMEM",
	14:  "EFAULT",
	17:  "EEXIST",
	22:  formats.ErrnoEINVAL,
	65:  formats.ErrnoENOPKG,
	74:  formats.ErrnoEBADMSG,
	80:  formats.ErrnoELIBBAD,
	126: formats.ErrnoENOKEY,
	127: formats.ErrnoEKEYEXPIRED,
	129: formats.ErrnoEKEYREJECTED,
}

// ErrnoName returns the name of a Linux x86-64 errno as busybox insmod exits with it: 0 is
// "OK", an unknown number is "errno(N)". (ENOTSUPP, 524, cannot be an exit status.)
func ErrnoName(n int) formats.Errno {
	if e, ok := errnoNames[n]; ok {
		return e
	}
	return formats.Errno("errno(" + strconv.Itoa(n) + ")")
}

// ParseSerial reads the serial console log of one boot. Lines the guest's init did not write
// (kernel boot messages) are kept in Console only. A malformed RESULT line, a DMESG line for a
// module without a RESULT, or an overlong line is a *formats.FormatError with the byte offset
// of the line. A log that ends before ORACLE-END is not an error: Complete reports it.
func ParseSerial(r io.Reader) (*Boot, error) {
	b := &Boot{}
	br := bufio.NewReader(r)
	var off int64
	for {
		line, err := readLine(br, off)
		if err != nil {
			return nil, err
		}
		if line == nil {
			break
		}
		start := off
		off += int64(len(line))
		s := strings.TrimRight(string(bytes.TrimRight(line, "\n")), "\r")
		b.Console = append(b.Console, s)
		if err := b.parseLine(s, start); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readLine returns the next line including its newline, nil at EOF.
func readLine(br *bufio.Reader, off int64) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxSerialLine {
			return nil, &formats.FormatError{Format: SerialFormat, Off: off, Msg: "console line longer than 64 KiB", Err: formats.ErrTooLarge}
		}
		switch err {
		case nil:
			return line, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) == 0 {
				return nil, nil
			}
			return line, nil
		default:
			return nil, err
		}
	}
}

func (b *Boot) parseLine(s string, off int64) error {
	key, rest, _ := strings.Cut(s, " ")
	switch key {
	case "ORACLE-BEGIN":
		b.Begun = true
	case "ORACLE-END":
		b.Complete = true
	}
	if !b.Begun || b.Complete {
		return nil
	}
	switch key {
	case "CMDLINE":
		b.Cmdline = rest
	case "SIG_ENFORCE":
		b.SigEnforce = rest
	case "BOOT":
		b.BootLines = append(b.BootLines, rest)
	case "KEY":
		b.Keys = append(b.Keys, rest)
	case "UPTIME":
		b.Uptime = rest
	case "RESULT":
		res, err := parseResult(rest)
		if err != nil {
			return &formats.FormatError{Format: SerialFormat, Off: off, Msg: "RESULT line: " + err.Error()}
		}
		b.Results = append(b.Results, res)
	case "DMESG":
		name, msg, ok := strings.Cut(rest, ": ")
		if !ok {
			name, ok = strings.CutSuffix(rest, ":")
		}
		if !ok || len(b.Results) == 0 || b.Results[len(b.Results)-1].Name != name {
			return &formats.FormatError{Format: SerialFormat, Off: off, Msg: "DMESG line not after the RESULT of its module"}
		}
		last := &b.Results[len(b.Results)-1]
		last.Dmesg = append(last.Dmesg, msg)
	}
	return nil
}

type parseErr string

func (e parseErr) Error() string { return string(e) }

// parseResult parses "<name> rc=<n> modtaint=<s> tainted=<n> err=<message>".
func parseResult(s string) (Result, error) {
	var r Result
	name, s, ok := strings.Cut(s, " ")
	if !ok || name == "" {
		return r, parseErr("no module name")
	}
	r.Name = name
	for _, field := range []string{"rc=", "modtaint=", "tainted="} {
		v, rest, _ := strings.Cut(s, " ")
		v, ok := strings.CutPrefix(v, field)
		if !ok {
			return r, parseErr("want " + field)
		}
		s = rest
		switch field {
		case "rc=":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				return r, parseErr("bad exit status " + strconv.Quote(v))
			}
			r.Code, r.Errno = n, ErrnoName(n)
		case "modtaint=":
			r.ModTaint = v
		case "tainted=":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return r, parseErr("bad taint " + strconv.Quote(v))
			}
			r.Tainted = n
		}
	}
	msg, ok := strings.CutPrefix(s, "err=")
	if !ok {
		return r, parseErr("want err=")
	}
	r.Message = strings.TrimSpace(msg)
	return r, nil
}
