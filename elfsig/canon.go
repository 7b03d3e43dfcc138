package elfsig

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/kmodsig/kmodsig/formats"
)

// ELF constants used by the canonical-stream builder (debug/elf spells them as typed
// values; the stream needs the raw numbers).
const (
	cnSHTProgbits = 1
	cnSHTSymtab   = 2
	cnSHTStrtab   = 3
	cnSHTRela     = 4
	cnSHTNote     = 7
	cnSHTNobits   = 8
	cnSHTRel      = 9

	cnSHFWrite = 0x1
	cnSHFAlloc = 0x2

	cnSHNLoReserve = 0xff00
)

// CanonParams selects one variant of the Red Hat canonical stream (FORMATS.md `rhel5`
// "Payload: the mod-extract canonical stream" and `rhel6` "Payload: sorted canonical
// stream"). The two eras share one builder, [Canonical]; every difference between them is
// one field here. Use [CanonRHEL5], [CanonRHEL6] or [CanonHowells2012] rather than building
// a value by hand.
type CanonParams struct {
	// Format is the format id named in errors ("rhel5", "rhel6").
	Format string
	// ListRelocs adds every SHT_REL/SHT_RELA section whose target (sh_info) is SHF_ALLOC to
	// the canonical list (rhel6). Without it the list holds SHF_ALLOC sections only (rhel5).
	ListRelocs bool
	// SortedWalk emits the sections in canonical (sorted) order (rhel6). Without it the
	// stream walks the section header table in order and emits a relocation section only
	// when its target has already been emitted (rhel5).
	SortedWalk bool
	// NobitsHeaders emits the header fields (no bytes) of SHF_ALLOC SHT_NOBITS sections
	// (rhel6: `.bss`). rhel5 ignores NOBITS sections except for their canonical number.
	NobitsHeaders bool
	// Unlisted is the canonical number given to sections that are not in the canonical
	// list. The signing tool mod-extract allocates its map with calloc, so it writes 0
	// (rhel5, rhel6); Howells' 2012 kernel fills 0xFFFFFFFF; the RHEL4/5/6 kernels leave
	// the map uninitialised, which only matters for modules a real build never makes
	// (a relocation against a symbol defined in a non-ALLOC section).
	Unlisted uint32
	// RelaZeroShndx models the 2012-08-16 Howells kernel, whose RELA path starts every
	// record from st_shndx = 0 and fills in only canonical indices, so relocations against
	// SHN_ABS or SHN_COMMON symbols record 0 instead of the raw value (inferred,
	// FORMATS.md rhel6 quirks). mod-extract and the REL path copy the raw value.
	RelaZeroShndx bool
	// StrictSymbols rejects a relocation against a symbol defined in a section that is not
	// SHF_ALLOC (Howells 2012: ELIBBAD).
	StrictSymbols bool
	// Skip is the index of a section to leave out of every step (the signature section of
	// a signed module); 0 skips nothing. The kernel skips its signature section by index:
	// after `objcopy --set-section-flags .module_sig=alloc` it is SHF_ALLOC and would
	// otherwise be digested.
	Skip int
}

// MaxCanonicalRatio bounds the canonical stream at MaxCanonicalRatio × the module size plus
// 64 KiB. Each relocation against an undefined symbol repeats the symbol's name, so a
// crafted module could otherwise ask for a stream quadratic in its size; real modules give
// about 1-2 × (ALLOC contents plus relocation records).
const MaxCanonicalRatio = 16

// The canonical-stream variants.
var (
	// CanonRHEL5 is the RHEL4/RHEL5 mod-extract stream: ALLOC sections listed, header
	// order, relocations of already-emitted sections, NOBITS omitted, unlisted = 0.
	CanonRHEL5 = CanonParams{Format: "rhel5"}
	// CanonRHEL6 is the RHEL6 mod-extract stream (also what Fedora's 2012 mod-extract
	// emits for the `rsa` variant): ALLOC sections and relocations targeting them,
	// sorted walk, NOBITS headers, unlisted = 0.
	CanonRHEL6 = CanonParams{Format: "rhel6", ListRelocs: true, SortedWalk: true, NobitsHeaders: true}
	// CanonHowells2012 is the stream Howells' 2012 kernel computes: as CanonRHEL6, with
	// unlisted = 0xFFFFFFFF and relocations against non-ALLOC symbols rejected. On every
	// module a real build makes it equals CanonRHEL6.
	CanonHowells2012 = CanonParams{Format: "rhel6", ListRelocs: true, SortedWalk: true, NobitsHeaders: true,
		Unlisted: 0xFFFFFFFF, StrictSymbols: true}
)

// Canonical returns the canonical stream of module m under p: the bytes whose digest the
// rhel5 or rhel6 OpenPGP signature covers. `gpg --verify sig stream` checks a signature
// against it (ORACLES.md §5).
//
// The steps, in FORMATS.md's numbering:
//
//  1. Canonical numbering. Every section i ≥ 1 except p.Skip that is SHF_ALLOC (NOBITS
//     included), plus, with p.ListRelocs, every REL/RELA section whose sh_info target is
//     SHF_ALLOC, is listed; the list is sorted by name with a stable ascending byte-wise
//     compare (mod-extract's bubble sort, swapping only on `>`), and canonmap[i] is the
//     1-based position. Sections not listed map to p.Unlisted.
//
//  2. Emission. rhel5 walks the header table: a REL/RELA section whose target was already
//     emitted contributes its relocation records, an ALLOC non-NOBITS section contributes
//     `name ‖ sh_type ‖ sh_flags ‖ sh_size ‖ sh_addralign ‖ bytes` and is marked emitted.
//     rhel6 walks the sorted list: REL/RELA → relocation records, ALLOC NOBITS → the header
//     fields only, other → header fields and bytes. Header fields are copied in the
//     module's byte order at the ELF class's width (ELF32 4/4/4/4, ELF64 4/8/8/8); the name
//     carries no NUL.
//
//  3. Relocation section: `name ‖ sh_type ‖ sh_flags ‖ sh_size ‖ sh_addralign ‖
//     u32 canonmap[sh_info]`, then per entry one packed record, fields in the module's byte
//     order, followed by the symbol's name and its NUL when the symbol is undefined
//     (st_shndx == SHN_UNDEF):
//
//     ELF64 REL  (32 bytes): r_offset u64, st_value u64, st_size u64, r_type u32, st_shndx u16, st_info u8, st_other u8
//     ELF64 RELA (40 bytes): r_offset u64, r_addend u64, st_value u64, st_size u64, r_type u32, st_shndx u16, st_info u8, st_other u8
//     ELF32 REL  (17 bytes): r_offset u32, st_value u32, st_size u32, st_shndx u16, r_type u8, st_info u8, st_other u8
//     ELF32 RELA (21 bytes): r_offset u32, r_addend u32, st_value u32, st_size u32, st_shndx u16, r_type u8, st_info u8, st_other u8
//
//     st_shndx is canonmap[st_shndx] (truncated to 16 bits) when 0 < st_shndx < e_shnum,
//     else the raw value (SHN_UNDEF, SHN_ABS, SHN_COMMON), or 0 for RELA with
//     p.RelaZeroShndx. A symbol index beyond the symbol table is an error.
//
// Record widths follow the module's ELF class (the Howells kernel chose them by
// CONFIG_64BIT, which matches every module such a kernel loads). The stream depends on the
// order of relocation entries: `ld -r` sorts them by offset, so an object that kbuild has
// not linked yet (plain `gcc -c` output) gets another stream once the era's note pipeline
// merges it with `ld -r` (observed on testdata/elf/x86_64.ko; every kbuild .ko is already
// `ld -r` output and keeps its stream).
//
// The symbol and string tables are the SHT_SYMTAB section named `.symtab` and the
// SHT_STRTAB section named `.strtab`, as mod-extract and the RHEL kernels find them (not
// through sh_link). Malformed input (truncated sections, a symbol index beyond the symbol
// table, an out-of-range sh_info, a name without NUL) is a *formats.FormatError with the
// file offset; the kernels answer ELIBBAD.
func Canonical(m formats.Module, p CanonParams) ([]byte, error) {
	var b bytes.Buffer
	if err := WriteCanonical(&b, m, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteCanonical writes the canonical stream of m to w (a hash, typically); see [Canonical].
func WriteCanonical(w io.Writer, m formats.Module, p CanonParams) error {
	f, err := cnOpen(m, p.Format)
	if err != nil {
		return err
	}
	lw := &cnLimitWriter{w: w, left: MaxCanonicalRatio*m.Size + 64<<10}
	c := &cnWriter{f: f, p: p, w: lw}
	err = c.run()
	if lw.over {
		return &formats.FormatError{Path: m.Name, Format: p.Format, Off: -1,
			Msg: fmt.Sprintf("canonical stream exceeds %d× the module size", MaxCanonicalRatio), Err: formats.ErrTooLarge}
	}
	return err
}

// cnLimitWriter stops a canonical stream that grows beyond its bound.
type cnLimitWriter struct {
	w    io.Writer
	left int64
	over bool
}

func (l *cnLimitWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > l.left {
		l.over = true
		return 0, formats.ErrTooLarge
	}
	l.left -= int64(len(b))
	return l.w.Write(b)
}

// cnFile is the minimal, bounds-checked view of an ELF relocatable file that the
// canonical stream needs: header, section table, section names. Section data is read on
// demand through the Module.
type cnFile struct {
	m      formats.Module
	format string
	is64   bool
	bo     cnByteOrder
	secs   []cnSection // index 0 is the null section
}

// cnByteOrder reads and appends integers in the module's byte order.
type cnByteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// cnSection is one section header, decoded.
type cnSection struct {
	name      []byte
	nameOff   uint32
	typ       uint32
	flags     uint64
	off       uint64
	size      uint64
	link      uint32
	info      uint32
	addralign uint64
	entsize   uint64
	hdrOff    int64 // file offset of the section header
}

func (s *cnSection) alloc() bool  { return s.flags&cnSHFAlloc != 0 }
func (s *cnSection) isRel() bool  { return s.typ == cnSHTRel || s.typ == cnSHTRela }
func (s *cnSection) nobits() bool { return s.typ == cnSHTNobits }

// cnOpen reads m's ELF header, section header table and section names through NewFile, the
// package's one ELF header parser, into the view the canonical stream needs; its errors name
// format, the era asking. On top of NewFile's checks it refuses what the canonical stream
// does not model: extended section numbering (e_shnum 0 or at least SHN_LORESERVE, an
// escaped e_shstrndx), which mod-extract and the RHEL kernels read as plain values and no
// module uses, and a module without a section-name table.
func cnOpen(m formats.Module, format string) (*cnFile, error) {
	ef, err := NewFile(m)
	if err != nil {
		var fe *formats.FormatError
		if errors.As(err, &fe) {
			retagged := *fe
			retagged.Format = format
			return nil, &retagged
		}
		return nil, err
	}
	f := &cnFile{m: m, format: format, is64: ef.Class == elf.ELFCLASS64, bo: binary.LittleEndian}
	if ef.Data == elf.ELFDATA2MSB {
		f.bo = binary.BigEndian
	}
	if ef.RawShNum == 0 || ef.RawShNum >= cnSHNLoReserve {
		return nil, formats.Errorf(m, format, ef.shnumOff(), "e_shnum %d out of range (extended numbering is not used by modules)", ef.RawShNum)
	}
	if ef.RawShStrNdx == 0 || int(ef.RawShStrNdx) != ef.ShStrNdx {
		return nil, formats.Errorf(m, format, ef.shnumOff()+2, "e_shstrndx %d out of range (e_shnum %d)", ef.RawShStrNdx, ef.RawShNum)
	}
	f.secs = make([]cnSection, len(ef.Sections))
	for i, es := range ef.Sections {
		f.secs[i] = cnSection{
			nameOff: es.NameOff, typ: uint32(es.Type), flags: uint64(es.Flags),
			off: es.Offset, size: es.Size, link: es.Link, info: es.Info,
			addralign: es.Addralign, entsize: es.Entsize, hdrOff: es.HeaderOff,
		}
		if i > 0 { // NewFile checked that the name lies, NUL-terminated, in the table
			f.secs[i].name = ef.Names[es.NameOff : int(es.NameOff)+len(es.Name)]
		}
	}
	return f, nil
}

// data reads section i's bytes, checking that they lie inside the file.
func (f *cnFile) data(i int) ([]byte, error) {
	s := &f.secs[i]
	if s.nobits() {
		return nil, nil
	}
	if s.off > uint64(f.m.Size) || s.size > uint64(f.m.Size)-s.off {
		return nil, formats.Errorf(f.m, f.format, s.hdrOff, "section %d %q (%d bytes at %d) goes beyond end of file (%d bytes)", i, s.name, s.size, s.off, f.m.Size)
	}
	if s.size > formats.MaxModuleSize {
		return nil, &formats.FormatError{Path: f.m.Name, Format: f.format, Off: s.hdrOff, Msg: "section too large", Err: formats.ErrTooLarge}
	}
	return f.m.ReadAt(f.format, int64(s.off), int64(s.size))
}

// find returns the index of the first section named name of type typ, or 0.
func (f *cnFile) find(name string, typ uint32) int {
	for i := 1; i < len(f.secs); i++ {
		if f.secs[i].typ == typ && string(f.secs[i].name) == name {
			return i
		}
	}
	return 0
}

// cnWriter carries the state of one canonical-stream computation.
type cnWriter struct {
	f        *cnFile
	p        CanonParams
	w        io.Writer
	list     []int    // canonical list: section indices in sorted order
	canonmap []uint32 // section index → 1-based canonical position, or p.Unlisted
	syms     []byte   // .symtab bytes
	strs     []byte   // .strtab bytes
	symOff   int64    // file offset of .symtab
	buf      []byte
}

// run performs the three steps of [Canonical].
func (c *cnWriter) run() error {
	f, p := c.f, c.p
	n := len(f.secs)
	// Sanity checks every reader of the era made: every section with file bytes lies in
	// the file (mod-extract: "Section goes beyond EOF"), relocation sections point at a
	// real section.
	for i := 1; i < n; i++ {
		if i == p.Skip {
			continue
		}
		s := &f.secs[i]
		if !s.nobits() && (s.off > uint64(f.m.Size) || s.size > uint64(f.m.Size)-s.off) {
			return formats.Errorf(f.m, p.Format, s.hdrOff, "section %d %q (%d bytes at %d) goes beyond end of file (%d bytes)", i, s.name, s.size, s.off, f.m.Size)
		}
		if s.isRel() && (s.info == 0 || uint64(s.info) >= uint64(n)) {
			return formats.Errorf(f.m, p.Format, s.hdrOff, "relocation section %d %q: sh_info %d does not name a section", i, s.name, s.info)
		}
	}

	// Step 1: canonical list and map.
	for i := 1; i < n; i++ {
		if i == p.Skip {
			continue
		}
		s := &f.secs[i]
		switch {
		case s.alloc():
			c.list = append(c.list, i)
		case p.ListRelocs && s.isRel() && int(s.info) != p.Skip && f.secs[s.info].alloc():
			c.list = append(c.list, i)
		}
	}
	sort.SliceStable(c.list, func(a, b int) bool {
		return bytes.Compare(f.secs[c.list[a]].name, f.secs[c.list[b]].name) < 0
	})
	c.canonmap = make([]uint32, n)
	for i := range c.canonmap {
		c.canonmap[i] = p.Unlisted
	}
	for pos, i := range c.list {
		c.canonmap[i] = uint32(pos + 1)
	}

	// Symbol and string tables, by name as mod-extract and the kernels find them.
	if err := c.loadSymbols(); err != nil {
		return err
	}

	// Step 2: emission.
	if p.SortedWalk {
		for _, i := range c.list {
			s := &f.secs[i]
			var err error
			switch {
			case s.isRel():
				err = c.emitRel(i)
			case s.nobits():
				if p.NobitsHeaders {
					err = c.emitHeader(i)
				}
			default:
				err = c.emitSection(i)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	emitted := make([]bool, n)
	for i := 1; i < n; i++ {
		if i == p.Skip {
			continue
		}
		s := &f.secs[i]
		if s.isRel() {
			if emitted[s.info] {
				if err := c.emitRel(i); err != nil {
					return err
				}
			}
			continue
		}
		if s.alloc() && !s.nobits() {
			if err := c.emitSection(i); err != nil {
				return err
			}
			emitted[i] = true
		}
	}
	return nil
}

// loadSymbols finds `.symtab` and `.strtab` (exactly one each).
func (c *cnWriter) loadSymbols() error {
	f := c.f
	symIdx, strIdx := 0, 0
	for i := 1; i < len(f.secs); i++ {
		if i == c.p.Skip {
			continue
		}
		s := &f.secs[i]
		switch {
		case s.typ == cnSHTSymtab && string(s.name) == ".symtab":
			if symIdx != 0 {
				return formats.Errorf(f.m, c.p.Format, s.hdrOff, "second .symtab section (%d)", i)
			}
			symIdx = i
		case s.typ == cnSHTStrtab && string(s.name) == ".strtab":
			if strIdx != 0 {
				return formats.Errorf(f.m, c.p.Format, s.hdrOff, "second .strtab section (%d)", i)
			}
			strIdx = i
		}
	}
	if symIdx == 0 {
		return formats.Errorf(f.m, c.p.Format, -1, "no .symtab section (module stripped of its symbol table?)")
	}
	if strIdx == 0 {
		return formats.Errorf(f.m, c.p.Format, -1, "no .strtab section")
	}
	var err error
	if c.syms, err = f.data(symIdx); err != nil {
		return err
	}
	c.symOff = int64(f.secs[symIdx].off)
	if c.strs, err = f.data(strIdx); err != nil {
		return err
	}
	return nil
}

// appendHeader appends `name ‖ sh_type ‖ sh_flags ‖ sh_size ‖ sh_addralign` of section i
// in the module's byte order at the class's width.
func (c *cnWriter) appendHeader(b []byte, i int) []byte {
	s, bo := &c.f.secs[i], c.f.bo
	b = append(b, s.name...)
	b = bo.AppendUint32(b, s.typ)
	if c.f.is64 {
		b = bo.AppendUint64(b, s.flags)
		b = bo.AppendUint64(b, s.size)
		b = bo.AppendUint64(b, s.addralign)
	} else {
		b = bo.AppendUint32(b, uint32(s.flags))
		b = bo.AppendUint32(b, uint32(s.size))
		b = bo.AppendUint32(b, uint32(s.addralign))
	}
	return b
}

// emitHeader writes the header fields of section i (rhel6 NOBITS sections).
func (c *cnWriter) emitHeader(i int) error {
	_, err := c.w.Write(c.appendHeader(c.buf[:0], i))
	return err
}

// emitSection writes the header fields and the bytes of section i.
func (c *cnWriter) emitSection(i int) error {
	d, err := c.f.data(i)
	if err != nil {
		return err
	}
	if err := c.emitHeader(i); err != nil {
		return err
	}
	_, err = c.w.Write(d)
	return err
}

// emitRel writes relocation section i: its header fields, the canonical number of its
// target, then one record per entry (the table in [Canonical]).
func (c *cnWriter) emitRel(i int) error {
	f, p, bo := c.f, c.p, c.f.bo
	s := &f.secs[i]
	rela := s.typ == cnSHTRela
	d, err := f.data(i)
	if err != nil {
		return err
	}
	b := c.appendHeader(c.buf[:0], i)
	b = bo.AppendUint32(b, c.canonmap[s.info])
	if _, err := c.w.Write(b); err != nil {
		return err
	}

	entSize, symSize := 8, 16
	if f.is64 {
		entSize, symSize = 16, 24
	}
	if rela {
		entSize += entSize / 2
	}
	nsyms := uint64(len(c.syms) / symSize)
	nrels := len(d) / entSize
	for k := 0; k < nrels; k++ {
		e := d[k*entSize:]
		eOff := int64(s.off) + int64(k*entSize)
		var rOffset, rInfo, rAddend, symIdx uint64
		var rType uint32
		if f.is64 {
			rOffset, rInfo = bo.Uint64(e[0:]), bo.Uint64(e[8:])
			if rela {
				rAddend = bo.Uint64(e[16:])
			}
			symIdx, rType = rInfo>>32, uint32(rInfo)
		} else {
			rOffset, rInfo = uint64(bo.Uint32(e[0:])), uint64(bo.Uint32(e[4:]))
			if rela {
				rAddend = uint64(bo.Uint32(e[8:]))
			}
			symIdx, rType = rInfo>>8, uint32(rInfo&0xff)
		}
		if symIdx >= nsyms {
			return formats.Errorf(f.m, p.Format, eOff, "section %q relocation %d: symbol index %d beyond symbol table (%d symbols)", s.name, k, symIdx, nsyms)
		}
		sym := c.syms[symIdx*uint64(symSize):]
		var stName uint32
		var stValue, stSize uint64
		var stInfo, stOther byte
		var stShndx uint16
		if f.is64 {
			stName, stInfo, stOther, stShndx = bo.Uint32(sym[0:]), sym[4], sym[5], bo.Uint16(sym[6:])
			stValue, stSize = bo.Uint64(sym[8:]), bo.Uint64(sym[16:])
		} else {
			stName, stValue, stSize = bo.Uint32(sym[0:]), uint64(bo.Uint32(sym[4:])), uint64(bo.Uint32(sym[8:]))
			stInfo, stOther, stShndx = sym[12], sym[13], bo.Uint16(sym[14:])
		}
		shndx := stShndx
		if rela && p.RelaZeroShndx {
			shndx = 0
		}
		if stShndx > 0 && int(stShndx) < len(f.secs) {
			if p.StrictSymbols && !f.secs[stShndx].alloc() {
				return formats.Errorf(f.m, p.Format, eOff, "section %q relocation %d: symbol %d is defined in non-ALLOC section %d %q", s.name, k, symIdx, stShndx, f.secs[stShndx].name)
			}
			shndx = uint16(c.canonmap[stShndx])
		}
		b = c.buf[:0]
		if f.is64 {
			b = bo.AppendUint64(b, rOffset)
			if rela {
				b = bo.AppendUint64(b, rAddend)
			}
			b = bo.AppendUint64(b, stValue)
			b = bo.AppendUint64(b, stSize)
			b = bo.AppendUint32(b, rType)
			b = bo.AppendUint16(b, shndx)
		} else {
			b = bo.AppendUint32(b, uint32(rOffset))
			if rela {
				b = bo.AppendUint32(b, uint32(rAddend))
			}
			b = bo.AppendUint32(b, uint32(stValue))
			b = bo.AppendUint32(b, uint32(stSize))
			b = bo.AppendUint16(b, shndx)
			b = append(b, byte(rType))
		}
		b = append(b, stInfo, stOther)
		if stShndx == 0 {
			if uint64(stName) >= uint64(len(c.strs)) {
				return formats.Errorf(f.m, p.Format, c.symOff+int64(symIdx)*int64(symSize), "symbol %d: name offset %d beyond .strtab (%d bytes)", symIdx, stName, len(c.strs))
			}
			name := c.strs[stName:]
			z := bytes.IndexByte(name, 0)
			if z < 0 {
				return formats.Errorf(f.m, p.Format, c.symOff+int64(symIdx)*int64(symSize), "symbol %d: name not NUL-terminated", symIdx)
			}
			b = append(b, name[:z+1]...)
		}
		c.buf = b
		if _, err := c.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
