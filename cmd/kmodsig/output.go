package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// colonHex renders b as modinfo does: upper-case hex bytes joined by colons, wrapped every
// 20 bytes; continuation lines start with two tabs, and every line but the last ends with a colon.
func colonHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
			if i%20 == 0 {
				sb.WriteString("\n\t\t")
			}
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
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
