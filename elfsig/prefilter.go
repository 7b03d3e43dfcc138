package elfsig

import (
	"bytes"

	"github.com/kmodsig/kmodsig/formats"
)

// maxPrefilterNames bounds the section-name table mayHaveSection reads.
const maxPrefilterNames = 1 << 20

// mayHaveSection is the cheap first step of the three ELF drivers' Detect: it reads the ELF
// header, the header of the section-name table and that table (three small reads, usually
// served from the windows conv keeps in memory) and reports whether name occurs in the table.
// When the module is not ELF it reports false; when anything is odd (escapes, bounds) it
// reports true, leaving the verdict to the full parse, which names the offset of what is wrong.
func mayHaveSection(m formats.Module, name string) bool {
	if m.Size < 52 {
		return false
	}
	eh, err := m.ReadAt(elfFormat, 0, min(64, m.Size)) // both classes' headers in one read
	if err != nil || !bytes.Equal(eh[:4], []byte("\x7fELF")) {
		return false
	}
	bo := formats.ELFByteOrder(eh[5])
	if bo == nil {
		return true
	}
	var shoff, shentsize, shnum, shstrndx int64
	switch eh[4] {
	case 1:
		shoff = int64(bo.Uint32(eh[32:]))
		shentsize, shnum, shstrndx = int64(bo.Uint16(eh[46:])), int64(bo.Uint16(eh[48:])), int64(bo.Uint16(eh[50:]))
	case 2:
		if len(eh) < 64 {
			return false
		}
		shoff = int64(bo.Uint64(eh[40:]))
		shentsize, shnum, shstrndx = int64(bo.Uint16(eh[58:])), int64(bo.Uint16(eh[60:])), int64(bo.Uint16(eh[62:]))
	default:
		return true
	}
	minEnt := int64(40)
	if eh[4] == 2 {
		minEnt = 64
	}
	if shnum == 0 || shstrndx == 0 || shstrndx >= 0xff00 || shstrndx >= shnum || shoff <= 0 || shoff > m.Size ||
		shentsize < minEnt {
		return true // escapes, no table or a header size we cannot read: let the full parse decide
	}
	sh, err := m.ReadAt(elfFormat, shoff+shstrndx*shentsize, shentsize)
	if err != nil {
		return true
	}
	var off, size int64
	if eh[4] == 1 {
		off, size = int64(bo.Uint32(sh[16:])), int64(bo.Uint32(sh[20:]))
	} else {
		off, size = int64(bo.Uint64(sh[24:])), int64(bo.Uint64(sh[32:]))
	}
	if size <= 0 || size > maxPrefilterNames || off < 0 || off > m.Size || size > m.Size-off {
		return true
	}
	names, err := m.ReadAt(elfFormat, off, size)
	if err != nil {
		return true
	}
	// A substring match, not a name-by-name one: linkers merge a name into the tail of a
	// longer one (".text" inside ".rela.text"), so a section's name may start mid-string.
	for {
		i := bytes.Index(names, []byte(name))
		if i < 0 {
			return false
		}
		if end := i + len(name); end == len(names) || names[end] == 0 {
			return true
		}
		names = names[i+1:]
	}
}
