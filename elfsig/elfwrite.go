package elfsig

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kmodsig/kmodsig/formats"
)

// NewSection describes a section for [Add].
type NewSection struct {
	Name  string
	Type  elf.SectionType
	Flags elf.SectionFlag
	// Addralign is sh_addralign; the data is placed at a file offset that is a multiple of it.
	// 0 and 1 mean no alignment.
	Addralign uint64
	Entsize   uint64
	Link      uint32
	Info      uint32
	Data      []byte
}

// ErrNotExact reports that [Remove] could not give back the original bytes exactly (the
// section was not added by [Add], for example by objcopy, which re-lays out the whole file)
// and rebuilt the module instead. The rebuilt module is still returned.
var ErrNotExact = errors.New("section was not appended by kmodsig: module rebuilt, original bytes not recoverable")

// ErrNotRel reports an ELF file that is not a relocatable object (ET_REL), which is all a
// kernel module can be.
var ErrNotRel = errors.New("not an ELF relocatable object (ET_REL)")

// Add appends a section to the ELF relocatable object in m and returns the new file. Every
// existing byte stays where it is; the file grows by, in this order:
//
//  1. a copy of the section-name string table with name and a NUL appended, starting exactly
//     at the old end of file (no padding, so the old size is the new table's sh_offset);
//  2. zero padding to Addralign, then the section data;
//  3. zero padding to the class's word size (4 or 8), then a new section header table: the
//     old table byte for byte, except that the .shstrtab entry points at the copy, plus one
//     entry for the new section, which therefore gets the last index.
//
// The ELF header's e_shoff and e_shnum are rewritten (e_shstrndx keeps its value because the
// string table keeps its index). When the new count reaches SHN_LORESERVE, or the file already
// used the escape, e_shnum is 0 and section 0's sh_size holds the count, in the new table
// only. The original table, string table and data remain untouched in the file, which is what
// lets [Remove] give the input back byte for byte.
func Add(m formats.Module, s NewSection) ([]byte, error) {
	f, err := NewFile(m)
	if err != nil {
		return nil, err
	}
	b, err := m.Bytes()
	if err != nil {
		return nil, err
	}
	return f.add(b, s)
}

func (f *File) add(b []byte, s NewSection) ([]byte, error) {
	m := f.m
	if f.Type != elf.ET_REL {
		return nil, &formats.FormatError{Path: m.Name, Format: elfFormat, Off: 16, Msg: fmt.Sprintf("ELF type %v", f.Type), Err: ErrNotRel}
	}
	if len(f.Sections) == 0 {
		return nil, ferr(m, f.shoffOff(), "no section header table to add a section to")
	}
	if f.ShStrNdx == 0 {
		return nil, ferr(m, f.shnumOff()+2, "no section-name string table (e_shstrndx 0)")
	}
	if s.Name == "" || strings.IndexByte(s.Name, 0) >= 0 {
		return nil, fmt.Errorf("elf: invalid section name %q", s.Name)
	}
	align := s.Addralign
	if align == 0 {
		align = 1
	}
	if align&(align-1) != 0 || align > 1<<16 {
		return nil, fmt.Errorf("elf: section alignment %d is not a power of two up to 65536", s.Addralign)
	}
	oldNames := f.Names
	n := len(f.Sections)

	out := make([]byte, 0, len(b)+len(oldNames)+len(s.Name)+1+int(align)+len(s.Data)+int(f.ShEntSize)*(n+1)+8)
	out = append(out, b...)
	namesOff := uint64(len(out))
	out = append(out, oldNames...)
	if len(oldNames) == 0 {
		// An empty name table: sections named by offset 0 must keep the empty name, so the
		// copy starts with the NUL every ELF string table begins with (found by FuzzELF).
		out = append(out, 0)
	}
	nameOff := uint64(len(out)) - namesOff
	out = append(out, s.Name...)
	out = append(out, 0)
	out = pad(out, align)
	dataOff := uint64(len(out))
	out = append(out, s.Data...)
	out = pad(out, uint64(f.wordSize()))
	tableOff := uint64(len(out))

	table, err := f.rawTable()
	if err != nil {
		return nil, err
	}
	e := f.ShEntSize
	out = append(out, table...)
	newEnt := make([]byte, e)
	out = append(out, newEnt...)
	if f.Class == elf.ELFCLASS32 && uint64(len(out)) > math.MaxUint32 {
		return nil, ferr(m, -1, "output of %d bytes does not fit ELF32 offsets", len(out))
	}
	ent := func(i int) []byte { return out[tableOff+uint64(i)*uint64(e) : tableOff+uint64(i+1)*uint64(e)] }
	f.putField(ent(f.ShStrNdx), fOffset, namesOff)
	f.putField(ent(f.ShStrNdx), fSize, nameOff+uint64(len(s.Name)+1))

	ne := ent(n)
	f.putField(ne, fName, nameOff)
	f.putField(ne, fType, uint64(s.Type))
	f.putField(ne, fFlags, uint64(s.Flags))
	f.putField(ne, fOffset, dataOff)
	f.putField(ne, fSize, uint64(len(s.Data)))
	f.putField(ne, fLink, uint64(s.Link))
	f.putField(ne, fInfo, uint64(s.Info))
	f.putField(ne, fAddralign, align)
	f.putField(ne, fEntsize, s.Entsize)

	count := n + 1
	if f.RawShNum == 0 || count >= int(elf.SHN_LORESERVE) {
		f.putField(ent(0), fSize, uint64(count))
		f.putHeader(out, tableOff, 0)
	} else {
		f.putHeader(out, tableOff, uint16(count))
	}
	return out, nil
}

// pad appends zero bytes to b up to a multiple of align.
func pad(b []byte, align uint64) []byte {
	for uint64(len(b))%align != 0 {
		b = append(b, 0)
	}
	return b
}

// wordSize is the alignment of the section header table: 4 for ELF32, 8 for ELF64.
func (f *File) wordSize() int64 {
	if f.Class == elf.ELFCLASS64 {
		return 8
	}
	return 4
}

// putHeader writes e_shoff and e_shnum into the ELF header at the start of b.
func (f *File) putHeader(b []byte, shoff uint64, shnum uint16) {
	if f.Class == elf.ELFCLASS64 {
		f.Order.PutUint64(b[40:], shoff)
	} else {
		f.Order.PutUint32(b[32:], uint32(shoff))
	}
	f.Order.PutUint16(b[f.shnumOff():], shnum)
}

// Section header fields, for putField.
type shField int

const (
	fName shField = iota
	fType
	fFlags
	fAddr
	fOffset
	fSize
	fLink
	fInfo
	fAddralign
	fEntsize
)

// putField writes one field of a raw section header entry at the class's width.
func (f *File) putField(ent []byte, field shField, v uint64) {
	o := f.Order
	// offsets and widths: ELF32 all 4 bytes; ELF64 name/type/link/info 4, the rest 8.
	off32 := [...]int{0, 4, 8, 12, 16, 20, 24, 28, 32, 36}
	off64 := [...]int{0, 4, 8, 16, 24, 32, 40, 44, 48, 56}
	if f.Class == elf.ELFCLASS32 {
		o.PutUint32(ent[off32[field]:], uint32(v))
		return
	}
	switch field {
	case fName, fType, fLink, fInfo:
		o.PutUint32(ent[off64[field]:], uint32(v))
	default:
		o.PutUint64(ent[off64[field]:], v)
	}
}

// Remove removes the first section named name (header order, from index 1) and returns the
// module without it.
//
// When the section was added by [Add] (or by anything that lays the file out the same way),
// the result is the original input byte for byte. The original values are recovered from the
// untouched parts of the file, with nothing recorded on the side: the section must be the
// last one and its name the last string of the section-name table, whose sh_offset is the
// original file size; the original section header table is found in the file as the run of
// entries equal to the current table's (all but the name-table entry and entry 0, which Add
// may rewrite), and it gives e_shoff, the original name-table entry and entry 0's escapes.
// The candidate is then proven exact by adding the section back with the same header and
// contents and comparing the result with the input byte for byte.
//
// Otherwise (for example a module signed by `objcopy --add-section`, which re-lays out the
// whole file) Remove rebuilds the module the way `objcopy --remove-section` treats indices:
// the header entry is dropped, later sections are renumbered (sh_link, sh_info of
// relocation sections, e_shstrndx, st_shndx of symbols), every section's contents stay in
// place, and the section's data and name become unreferenced bytes. Section contents and the
// signed streams then equal objcopy's output, but the file layout differs. The rebuilt module
// is returned with an error wrapping [ErrNotExact].
func Remove(m formats.Module, name string) ([]byte, error) {
	f, err := NewFile(m)
	if err != nil {
		return nil, err
	}
	if f.Type != elf.ET_REL {
		return nil, &formats.FormatError{Path: m.Name, Format: elfFormat, Off: 16, Msg: fmt.Sprintf("ELF type %v", f.Type), Err: ErrNotRel}
	}
	s := f.Section(name)
	if s == nil {
		return nil, &formats.FormatError{Path: m.Name, Format: elfFormat, Off: -1, Msg: fmt.Sprintf("no section %q", name), Err: formats.ErrNotSigned}
	}
	b, err := m.Bytes()
	if err != nil {
		return nil, err
	}
	if out := f.exactRemove(b, s); out != nil {
		return out, nil
	}
	out, err := f.rebuildRemove(b, s)
	if err != nil {
		return nil, err
	}
	return out, ErrNotExact
}

// exactRemove returns the original bytes of a file that [Add] produced, or nil.
func (f *File) exactRemove(b []byte, s *Section) []byte {
	n := len(f.Sections)
	if s.Index != n-1 || f.ShStrNdx == 0 || f.ShStrNdx == s.Index || n < 2 {
		return nil
	}
	ss := f.Sections[f.ShStrNdx]
	if uint64(s.NameOff)+uint64(len(s.Name))+1 != ss.Size || ss.Offset > uint64(len(b)) {
		return nil
	}
	data, err := f.ReadSection(s)
	if err != nil {
		return nil
	}
	size := int64(ss.Offset)
	n0 := n - 1
	e := f.ShEntSize
	tab := int64(n0) * e
	if size < f.EhSize || tab > size {
		return nil
	}
	table, err := f.rawTable()
	if err != nil {
		return nil
	}
	// ref is an entry Add never rewrites, used to find candidate positions of the old table.
	ref := -1
	for i := 1; i < n0; i++ {
		if i != f.ShStrNdx {
			ref = i
			break
		}
	}
	try := func(x int64) []byte {
		if x < f.EhSize || x+tab > size {
			return nil
		}
		for i := 1; i < n0; i++ {
			if i == f.ShStrNdx {
				continue
			}
			if !bytes.Equal(b[x+int64(i)*e:x+int64(i+1)*e], table[int64(i)*e:int64(i+1)*e]) {
				return nil
			}
		}
		orig := append([]byte(nil), b[:size]...)
		old := f.decodeHeader(orig[x:x+e], 0, x)
		shnums := []uint16{uint16(n0), 0}
		if old.Size != 0 || n0 >= int(elf.SHN_LORESERVE) {
			shnums = []uint16{0, uint16(n0)}
		}
		for _, shnum := range shnums {
			if shnum == 0 && old.Size == 0 {
				continue
			}
			if shnum != 0 && n0 >= int(elf.SHN_LORESERVE) {
				continue
			}
			f.putHeader(orig, uint64(x), shnum)
			back, err := Add(formats.NewModule("", orig), NewSection{
				Name: s.Name, Type: s.Type, Flags: s.Flags, Addralign: s.Addralign,
				Entsize: s.Entsize, Link: s.Link, Info: s.Info, Data: data,
			})
			if err == nil && bytes.Equal(back, b) {
				return orig
			}
		}
		return nil
	}
	// Every position of the old table that gives back exactly this file is a candidate; a
	// file whose old table cannot be told apart from other bytes (an all-zero table in a file
	// full of zeros, found by FuzzELF) has more than one, and then no exact answer exists:
	// return nil so the caller rebuilds and says so.
	var found []byte
	foundAt := int64(-1)
	ambiguous := false
	consider := func(x int64) {
		if x == foundAt || ambiguous {
			return
		}
		if out := try(x); out != nil {
			if found != nil {
				ambiguous = true
				return
			}
			found, foundAt = out, x
		}
	}
	consider(size - tab) // the usual layout: the old table ends the old file
	if ref < 0 {
		for x := f.EhSize; x+tab <= size && !ambiguous; x++ {
			consider(x)
		}
	} else {
		want := table[int64(ref)*e : int64(ref+1)*e]
		for from := int64(0); from < size && !ambiguous; {
			i := bytes.Index(b[from:size], want)
			if i < 0 {
				break
			}
			consider(from + int64(i) - int64(ref)*e)
			from += int64(i) + 1
		}
	}
	if ambiguous {
		return nil
	}
	return found
}

// rebuildRemove drops section s from the header table and renumbers what follows it.
func (f *File) rebuildRemove(b []byte, s *Section) ([]byte, error) {
	m := f.m
	k := uint32(s.Index)
	n := len(f.Sections)
	if int(k) == f.ShStrNdx {
		return nil, ferr(m, s.HeaderOff, "cannot remove the section-name string table")
	}
	out := append([]byte(nil), b...)
	fix := func(v uint32) uint32 {
		if v > k && v < uint32(n) {
			return v - 1
		}
		return v
	}
	e := f.ShEntSize
	var table []byte
	for _, t := range f.Sections {
		if t.Index == int(k) {
			continue
		}
		if t.Link == k && t.Index != 0 {
			return nil, ferr(m, t.HeaderOff, "section %d %q links to the section being removed", t.Index, t.Name)
		}
		relocish := t.Type == elf.SHT_REL || t.Type == elf.SHT_RELA || t.Flags&elf.SHF_INFO_LINK != 0
		if relocish && t.Info == k {
			return nil, ferr(m, t.HeaderOff, "section %d %q relocates the section being removed", t.Index, t.Name)
		}
		if t.Type == elf.SHT_SYMTAB_SHNDX {
			return nil, ferr(m, t.HeaderOff, "extended section indices (SHT_SYMTAB_SHNDX) not supported")
		}
		ent := append([]byte(nil), b[t.HeaderOff:t.HeaderOff+e]...)
		if t.Index != 0 {
			f.putField(ent, fLink, uint64(fix(t.Link)))
			if relocish {
				f.putField(ent, fInfo, uint64(fix(t.Info)))
			}
		}
		table = append(table, ent...)
		switch t.Type {
		case elf.SHT_SYMTAB:
			if err := f.renumberSymbols(out, t, k, n); err != nil {
				return nil, err
			}
		case elf.SHT_GROUP:
			if err := f.renumberGroup(out, t, k, n); err != nil {
				return nil, err
			}
		}
	}
	count := n - 1
	strndx := fix(uint32(f.ShStrNdx))
	shnum := uint16(count)
	if f.RawShNum == 0 {
		shnum = 0
		f.putField(table[:e], fSize, uint64(count))
	}
	if f.RawShStrNdx == uint16(elf.SHN_XINDEX) {
		f.putField(table[:e], fLink, uint64(strndx))
	} else {
		f.Order.PutUint16(out[f.shnumOff()+2:], uint16(strndx))
	}
	copy(out[f.ShOff:], table)
	end := f.ShOff + int64(n)*e
	if end == int64(len(out)) {
		out = out[:end-e]
	} else {
		copy(out[end-e:end], make([]byte, e))
	}
	f.putHeader(out, uint64(f.ShOff), shnum)
	return out, nil
}

// renumberGroup rewrites the member indices > k of SHT_GROUP section t in b to index-1 (the
// first word is the group flags); a group holding section k is an error.
func (f *File) renumberGroup(b []byte, t *Section, k uint32, n int) error {
	if err := f.checkRange(t); err != nil {
		return err
	}
	for off := t.Offset + 4; off+4 <= t.Offset+t.Size; off += 4 {
		v := f.Order.Uint32(b[off:])
		if v == k {
			return ferr(f.m, int64(off), "section group %d %q holds the section being removed", t.Index, t.Name)
		}
		if v > k && v < uint32(n) {
			f.Order.PutUint32(b[off:], v-1)
		}
	}
	return nil
}

// renumberSymbols rewrites st_shndx > k (and below SHN_LORESERVE) of every symbol of symtab
// t in b to st_shndx-1; a symbol defined in section k is an error.
func (f *File) renumberSymbols(b []byte, t *Section, k uint32, n int) error {
	symSize, shndxOff := uint64(16), uint64(14)
	if f.Class == elf.ELFCLASS64 {
		symSize, shndxOff = 24, 6
	}
	if err := f.checkRange(t); err != nil {
		return err
	}
	for off := t.Offset; off+symSize <= t.Offset+t.Size; off += symSize {
		v := uint32(f.Order.Uint16(b[off+shndxOff:]))
		if v >= uint32(elf.SHN_LORESERVE) || v < k {
			continue
		}
		if v == k {
			return ferr(f.m, int64(off), "a symbol is defined in the section being removed")
		}
		if v < uint32(n) {
			f.Order.PutUint16(b[off+shndxOff:], uint16(v-1))
		}
	}
	return nil
}
