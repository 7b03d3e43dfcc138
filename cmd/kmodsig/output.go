package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// colonHex renders b as modinfo does: upper-case hex bytes joined by colons, wrapped every
// 20 bytes; continuation lines start with two tabs, and every line but the last ends with a colon.
func colonHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)*3+len(b)/20*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
			if i%20 == 0 {
				out = append(out, "\n\t\t"...)
			}
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// field prints one modinfo-style line: the name and colon padded to 16 columns.
func field(w io.Writer, name, value string) {
	fmt.Fprintf(w, "%-16s%s\n", name+":", value)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var timeZero time.Time
