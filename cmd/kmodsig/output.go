package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kmodsig/kmodsig/conv"
)

// colonHex renders b as modinfo does: upper-case hex bytes joined by colons, wrapped every
// 20 bytes; continuation lines start with two tabs, and every line but the last ends with a colon.
func colonHex(b []byte) string { return hexColons(b, true) }

// hexColons is colonHex, wrapped as modinfo wraps it or on one line (JSON).
func hexColons(b []byte, wrap bool) string {
	const digits = "0123456789ABCDEF"
	n := 3*len(b) - 1
	if n < 0 {
		return ""
	}
	if wrap {
		n += (len(b) - 1) / 20 * 3
	}
	out := make([]byte, n)
	j := 0
	for i, c := range b {
		if i > 0 {
			out[j] = ':'
			j++
			if wrap && i%20 == 0 {
				out[j], out[j+1], out[j+2] = '\n', '\t', '\t'
				j += 3
			}
		}
		out[j], out[j+1] = digits[c>>4], digits[c&0xf]
		j += 2
	}
	return string(out)
}

// field prints one modinfo-style line: the name and colon padded to 16 columns.
func field(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%-16s%s\n", name+":", printable(value))
}

// fieldHex is field for a colon-hex value, which colonHex or wrapColons may have wrapped
// over several lines on purpose.
func fieldHex(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%-16s%s\n", name+":", value)
}

// printable escapes the control characters of s (a newline, an escape sequence) as Go
// does ("\n", "\x1b"). Text output carries strings from the modules and keys it reads (a
// signer name, a user id, a file name): a newline there would forge a line of output for
// whoever reads it line by line, an escape sequence would drive the terminal. The JSON
// output carries them exactly.
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// printError writes one "kmodsig: error: MSG" line to w (standard error), msg an error or a
// string, with its control characters escaped (printable): a file name or a string from a
// module in it cannot break the line in two or drive the terminal.
func printError(w io.Writer, msg any) {
	fmt.Fprintf(w, "%s: error: %s\n", programName, printable(fmt.Sprint(msg)))
}

// printWarning is printError for a "kmodsig: warning: MSG" line.
func printWarning(w io.Writer, msg any) {
	fmt.Fprintf(w, "%s: warning: %s\n", programName, printable(fmt.Sprint(msg)))
}

// displayPath is a file name as the text output prints it: as it is, or Go-quoted when it
// holds a control character or bytes that are not UTF-8, so that every byte is kept and none
// can forge a line (ls quotes such names too).
func displayPath(p string) string {
	if utf8.ValidString(p) && !strings.ContainsFunc(p, unicode.IsControl) {
		return p
	}
	return strconv.Quote(p)
}

// writeJSON prints v as JSON. A slice is printed as an array with one compact object per
// line: still one JSON document, readable, and cheap for thousands of modules.
func writeJSON(w io.Writer, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i := 0; i < rv.Len(); i++ {
		b, err := json.Marshal(rv.Index(i).Interface())
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

var timeZero time.Time

// warnNoModules says on standard error that the arguments held no module file (they can
// only be directories without one), where inspect and convert would otherwise print nothing
// and succeed. verify also fails then (exit 1): a mistyped tree is not a verified one.
func warnNoModules(e *env, n int, paths []string) {
	if n == 0 {
		printWarning(e.stderr, fmt.Sprintf("no module files (%s) in %s", strings.Join(conv.ModuleSuffixes, ", "), strings.Join(paths, " ")))
	}
}

// walkTrouble splits a walk's error: a *conv.WalkError (parts of the trees could not be
// read; the inputs found are good) is returned as unread, to be reported with printUnread
// after the output; anything else is fatal.
func walkTrouble(err error) (unread *conv.WalkError, fatal error) {
	if err == nil || errors.As(err, &unread) {
		return unread, nil
	}
	return nil, err
}

// printUnread prints one error line for each thing a walk could not read.
func printUnread(e *env, unread *conv.WalkError) {
	if unread == nil {
		return
	}
	for _, err := range unread.Errs {
		printError(e.stderr, err)
	}
}

// moduleOpener returns how inspect and verify open their inputs: conv.Open, or, when paths
// ask for standard input ("-"), conv.OpenReader of it, one module (piped out of an archive:
// `rpm2cpio | cpio -i --to-stdout`). "-" is refused beside other paths, which would be read
// in an order the output could not show.
func moduleOpener(e *env, paths []string) (open func(string) (*conv.File, error), stdin bool, err error) {
	for _, p := range paths {
		if p == "-" {
			if len(paths) > 1 {
				return nil, false, errors.New("- (standard input) is read alone, not with other files")
			}
			return func(name string) (*conv.File, error) { return conv.OpenReader(name, e.stdin) }, true, nil
		}
	}
	return conv.Open, false, nil
}

// dirWay refuses a directory path that cannot be made because it, or the nearest of its
// parents that exists, is not a directory (a file in the way): found before any work, not
// as a mkdir error for every file written under it.
func dirWay(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return nil
		case err == nil && p == dir:
			return fmt.Errorf("%s is a file, not a directory", dir)
		case err == nil:
			return fmt.Errorf("%s: %s is a file, not a directory", dir, p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return err
		case p == filepath.Dir(p):
			return nil
		}
	}
}
