package elfsig

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/kmodsig/kmodsig/formats"
)

// elfFormat is the Format of the *formats.FormatError values the ELF layer returns.
const elfFormat = "elf"

// Limits of the ELF layer.
const (
	// MaxSections is the largest section count the reader accepts (after the e_shnum escape).
	// Real modules have a few dozen; the largest Debian 6.1 module has under 200.
	MaxSections = 1 << 16
	// MaxSectionNames is the largest section-name string table (.shstrtab) the reader loads.
	MaxSectionNames = 1 << 20
)

// Sizes of the ELF file header and of one section header, per class.
const (
	ehdr32Size = 52
	ehdr64Size = 64
	shdr32Size = 40
	shdr64Size = 64
)

// Section is one entry of the section header table, with its name resolved. The fields are
// the raw header values (debug/elf's names); HeaderOff is where the entry lies in the file.
type Section struct {
	Index     int
	Name      string
	NameOff   uint32 // sh_name: offset of Name in the section-name string table
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Addr      uint64
	Offset    uint64
	Size      uint64
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
	HeaderOff int64
}

// File is the section view of an ELF object, read with a bound check on every header field.
// It holds the headers only; section contents are read on demand from the module
// ([File.ReadSection], [File.Stream]).
type File struct {
	m formats.Module

	Class   elf.Class
	Data    elf.Data
	Order   binary.ByteOrder
	Type    elf.Type
	Machine elf.Machine

	// EhSize is the size of the ELF header for the class (52 or 64).
	EhSize int64
	// ShOff is e_shoff, ShEntSize e_shentsize (40 or 64).
	ShOff     int64
	ShEntSize int64
	// RawShNum and RawShStrNdx are e_shnum and e_shstrndx as stored in the header, before the
	// escapes: e_shnum 0 means the count is in section 0's sh_size, e_shstrndx SHN_XINDEX
	// means the index is in section 0's sh_link.
	RawShNum    uint16
	RawShStrNdx uint16
	// ShStrNdx is the effective index of the section-name string table (0: none).
	ShStrNdx int
	// Sections is the section header table in order, entry 0 included.
	Sections []*Section
	// Names is the contents of the section-name string table.
	Names []byte
}

// ferr returns a *formats.FormatError of the ELF layer for m.
func ferr(m formats.Module, off int64, msg string, args ...any) error {
	return &formats.FormatError{Path: m.Name, Format: elfFormat, Off: off, Msg: fmt.Sprintf(msg, args...)}
}

// IsELF reports whether m starts with the ELF magic.
func IsELF(m formats.Module) bool {
	if m.Size < 4 {
		return false
	}
	b, err := m.ReadAt(elfFormat, 0, 4)
	return err == nil && bytes.Equal(b, []byte(elf.ELFMAG))
}

// NewFile reads the ELF header and section header table of m. It accepts ELF32 and ELF64 in
// either byte order and resolves the e_shnum and e_shstrndx escapes. It refuses, with a
// *formats.FormatError naming the byte offset, anything it cannot represent exactly: a bad
// magic, class or byte order, an e_shentsize other than the class's, a table or name table
// that does not fit in the file, a name offset outside the name table or a name without its
// terminating NUL.
func NewFile(m formats.Module) (*File, error) {
	if m.Size < elf.EI_NIDENT {
		return nil, ferr(m, 0, "file of %d bytes is too short for an ELF header", m.Size)
	}
	ident, err := m.ReadAt(elfFormat, 0, elf.EI_NIDENT)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(ident[:4], []byte(elf.ELFMAG)) {
		return nil, ferr(m, 0, "bad ELF magic % x", ident[:4])
	}
	f := &File{m: m, Class: elf.Class(ident[elf.EI_CLASS]), Data: elf.Data(ident[elf.EI_DATA])}
	switch f.Data {
	case elf.ELFDATA2LSB:
		f.Order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.Order = binary.BigEndian
	default:
		return nil, ferr(m, elf.EI_DATA, "unknown ELF byte order %d", ident[elf.EI_DATA])
	}
	var wantEnt int64
	switch f.Class {
	case elf.ELFCLASS32:
		f.EhSize, wantEnt = ehdr32Size, shdr32Size
	case elf.ELFCLASS64:
		f.EhSize, wantEnt = ehdr64Size, shdr64Size
	default:
		return nil, ferr(m, elf.EI_CLASS, "unknown ELF class %d", ident[elf.EI_CLASS])
	}
	if ident[elf.EI_VERSION] != byte(elf.EV_CURRENT) {
		return nil, ferr(m, elf.EI_VERSION, "unknown ELF version %d", ident[elf.EI_VERSION])
	}
	h, err := m.ReadAt(elfFormat, 0, f.EhSize)
	if err != nil {
		return nil, ferr(m, 0, "file of %d bytes is too short for an ELF%d header", m.Size, f.bits())
	}
	o := f.Order
	f.Type = elf.Type(o.Uint16(h[16:]))
	f.Machine = elf.Machine(o.Uint16(h[18:]))
	var shoff uint64
	var shentsize uint16
	if f.Class == elf.ELFCLASS64 {
		shoff = o.Uint64(h[40:])
		shentsize, f.RawShNum, f.RawShStrNdx = o.Uint16(h[58:]), o.Uint16(h[60:]), o.Uint16(h[62:])
	} else {
		shoff = uint64(o.Uint32(h[32:]))
		shentsize, f.RawShNum, f.RawShStrNdx = o.Uint16(h[46:]), o.Uint16(h[48:]), o.Uint16(h[50:])
	}
	if shoff == 0 {
		if f.RawShNum != 0 {
			return nil, ferr(m, f.shnumOff(), "e_shnum %d with no section header table (e_shoff 0)", f.RawShNum)
		}
		return f, nil
	}
	if shoff > uint64(m.Size) {
		return nil, ferr(m, f.shoffOff(), "e_shoff %d lies beyond the end of the %d-byte file", shoff, m.Size)
	}
	f.ShOff = int64(shoff)
	if int64(shentsize) != wantEnt {
		return nil, ferr(m, f.shnumOff()-2, "e_shentsize %d, want %d for ELF%d", shentsize, wantEnt, f.bits())
	}
	f.ShEntSize = wantEnt
	if m.Size-f.ShOff < f.ShEntSize {
		return nil, ferr(m, f.ShOff, "section header table at %d does not fit in the %d-byte file", f.ShOff, m.Size)
	}
	// Section 0 carries the escapes.
	s0, err := f.readHeader(0)
	if err != nil {
		return nil, err
	}
	n := uint64(f.RawShNum)
	if n == 0 {
		n = s0.Size
		if n == 0 {
			return nil, ferr(m, f.ShOff+f.sizeFieldOff(), "e_shnum 0 and section 0 sh_size 0: no section count")
		}
	}
	if n > MaxSections {
		return nil, ferr(m, f.shnumOff(), "%d sections exceed the limit of %d", n, MaxSections)
	}
	if n > uint64((m.Size-f.ShOff)/f.ShEntSize) {
		return nil, ferr(m, f.ShOff, "section header table of %d entries at %d does not fit in the %d-byte file", n, f.ShOff, m.Size)
	}
	strndx := uint64(f.RawShStrNdx)
	if f.RawShStrNdx == uint16(elf.SHN_XINDEX) {
		strndx = uint64(s0.Link)
	} else if f.RawShStrNdx >= uint16(elf.SHN_LORESERVE) {
		return nil, ferr(m, f.shnumOff()+2, "e_shstrndx 0x%x is a reserved index", f.RawShStrNdx)
	}
	if strndx >= n {
		return nil, ferr(m, f.shnumOff()+2, "e_shstrndx %d is not below the section count %d", strndx, n)
	}
	f.ShStrNdx = int(strndx)
	f.Sections = make([]*Section, n)
	f.Sections[0] = s0
	for i := 1; i < int(n); i++ {
		if f.Sections[i], err = f.readHeader(i); err != nil {
			return nil, err
		}
	}
	if f.ShStrNdx != 0 {
		ss := f.Sections[f.ShStrNdx]
		if ss.Type == elf.SHT_NOBITS {
			return nil, ferr(m, ss.HeaderOff, "section-name string table %d is NOBITS", f.ShStrNdx)
		}
		if ss.Size > MaxSectionNames {
			return nil, ferr(m, ss.HeaderOff, "section-name string table of %d bytes exceeds the limit of %d", ss.Size, MaxSectionNames)
		}
		if f.Names, err = f.ReadSection(ss); err != nil {
			return nil, err
		}
		for _, s := range f.Sections {
			name, ok := cstring(f.Names, s.NameOff)
			if !ok {
				return nil, ferr(m, s.HeaderOff, "section %d name offset %d outside the %d-byte name table or unterminated", s.Index, s.NameOff, len(f.Names))
			}
			s.Name = name
		}
	}
	return f, nil
}

// cstring returns the NUL-terminated string at off in b.
func cstring(b []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(b)) {
		return "", off == 0 && len(b) == 0
	}
	i := bytes.IndexByte(b[off:], 0)
	if i < 0 {
		return "", false
	}
	return string(b[off : int(off)+i]), true
}

func (f *File) bits() int {
	if f.Class == elf.ELFCLASS64 {
		return 64
	}
	return 32
}

// Header field offsets in the ELF header.
func (f *File) shoffOff() int64 {
	if f.Class == elf.ELFCLASS64 {
		return 40
	}
	return 32
}

// shnumOff is the offset of e_shnum; e_shentsize is 2 before it, e_shstrndx 2 after.
func (f *File) shnumOff() int64 {
	if f.Class == elf.ELFCLASS64 {
		return 60
	}
	return 48
}

// Section header field offsets within one entry.
func (f *File) sizeFieldOff() int64 {
	if f.Class == elf.ELFCLASS64 {
		return 32
	}
	return 20
}

// readHeader reads section header i.
func (f *File) readHeader(i int) (*Section, error) {
	off := f.ShOff + int64(i)*f.ShEntSize
	b, err := f.m.ReadAt(elfFormat, off, f.ShEntSize)
	if err != nil {
		return nil, err
	}
	return f.decodeHeader(b, i, off), nil
}

// decodeHeader decodes one raw section header entry.
func (f *File) decodeHeader(b []byte, i int, off int64) *Section {
	o := f.Order
	s := &Section{Index: i, HeaderOff: off, NameOff: o.Uint32(b[0:]), Type: elf.SectionType(o.Uint32(b[4:]))}
	if f.Class == elf.ELFCLASS64 {
		s.Flags = elf.SectionFlag(o.Uint64(b[8:]))
		s.Addr, s.Offset, s.Size = o.Uint64(b[16:]), o.Uint64(b[24:]), o.Uint64(b[32:])
		s.Link, s.Info = o.Uint32(b[40:]), o.Uint32(b[44:])
		s.Addralign, s.Entsize = o.Uint64(b[48:]), o.Uint64(b[56:])
	} else {
		s.Flags = elf.SectionFlag(o.Uint32(b[8:]))
		s.Addr, s.Offset, s.Size = uint64(o.Uint32(b[12:])), uint64(o.Uint32(b[16:])), uint64(o.Uint32(b[20:]))
		s.Link, s.Info = o.Uint32(b[24:]), o.Uint32(b[28:])
		s.Addralign, s.Entsize = uint64(o.Uint32(b[32:])), uint64(o.Uint32(b[36:]))
	}
	return s
}

// Module returns the module f was read from.
func (f *File) Module() formats.Module { return f.m }

// Section returns the first section named name in header order, starting at index 1 (the
// kernels' lookup: a second section of the same name is ignored), or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections[min(1, len(f.Sections)):] {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// End returns the end of the ELF image: the furthest byte covered by the ELF header, the
// section header table or a section with file contents (NOBITS sections have none). Bytes
// beyond it are appended data (a trailer signature).
func (f *File) End() int64 {
	end := f.EhSize
	if t := f.ShOff + int64(len(f.Sections))*f.ShEntSize; t > end {
		end = t
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if e, ok := s.fileEnd(f.m.Size); ok && e > end {
			end = e
		}
	}
	return end
}

// fileEnd returns Offset+Size when that range lies within a file of size bytes.
func (s *Section) fileEnd(size int64) (int64, bool) {
	if s.Offset > uint64(size) || s.Size > uint64(size)-s.Offset {
		return 0, false
	}
	return int64(s.Offset + s.Size), true
}

// checkRange returns a *formats.FormatError unless the file bytes [Offset, Offset+Size) of s
// lie within the module. It applies to every section type: the gkh2004 kernel rule reads a
// NOBITS section's sh_size bytes at its sh_offset too.
func (f *File) checkRange(s *Section) error {
	if _, ok := s.fileEnd(f.m.Size); !ok {
		return ferr(f.m, s.HeaderOff, "section %d %q: %d bytes at offset %d lie beyond the end of the %d-byte file", s.Index, s.Name, s.Size, s.Offset, f.m.Size)
	}
	if s.Size > math.MaxInt64 {
		return ferr(f.m, s.HeaderOff, "section %d size %d", s.Index, s.Size)
	}
	return nil
}

// ReadSection returns the file bytes [sh_offset, sh_offset+sh_size) of s, whatever its type
// (for NOBITS that is whatever the file holds there), or a *formats.FormatError when they do
// not lie within the module.
func (f *File) ReadSection(s *Section) ([]byte, error) {
	if err := f.checkRange(s); err != nil {
		return nil, err
	}
	return f.m.ReadAt(elfFormat, int64(s.Offset), int64(s.Size))
}

// Stream returns a reader over the file bytes of secs, concatenated in the order given, and
// their total length, without reading or copying the module: an io.MultiReader of
// io.SectionReaders over the module's io.ReaderAt. Every range is checked first.
func (f *File) Stream(secs []*Section) (io.Reader, int64, error) {
	rs := make([]io.Reader, 0, len(secs))
	var n int64
	for _, s := range secs {
		if err := f.checkRange(s); err != nil {
			return nil, 0, err
		}
		rs = append(rs, io.NewSectionReader(f.m.R, int64(s.Offset), int64(s.Size)))
		n += int64(s.Size)
	}
	return io.MultiReader(rs...), n, nil
}

// rawTable returns the bytes of the section header table.
func (f *File) rawTable() ([]byte, error) {
	return f.m.ReadAt(elfFormat, f.ShOff, int64(len(f.Sections))*f.ShEntSize)
}
