package elfsig

import (
	"github.com/kmodsig/kmodsig/formats"
)

// rhelDropSectionSymbols returns a copy of module m (bytes b) in which the section symbols
// (STT_SECTION) defined in section k are removed from every symbol table, the way
// `objcopy --remove-section` drops them: later symbols move down one index, every
// relocation and SHT_GROUP section using the table is renumbered, the table's sh_size and
// sh_info (first non-local index) shrink, and the freed entries at the table's end are
// zeroed (the table keeps its place in the file). It exists because `ld -r`, which merged
// the RHEL6 note into the module (modsign-note.sh), gives the note section a section symbol,
// and [Remove] refuses to drop a section that a symbol is defined in. Any other symbol in
// section k, or a relocation against a dropped symbol, is refused with a *formats.FormatError.
// It returns b itself when no symbol needs to go.
func rhelDropSectionSymbols(m formats.Module, b []byte, k int) ([]byte, error) {
	f, err := cnOpen(m, RHEL6ID)
	if err != nil {
		return nil, err
	}
	bo := f.bo
	symSize, nameInfo, shndxOff := uint64(16), uint64(12), uint64(14)
	entRel, entRela := uint64(8), uint64(12)
	if f.is64 {
		symSize, nameInfo, shndxOff = 24, 4, 6
		entRel, entRela = 16, 24
	}
	var out []byte
	for ti := 1; ti < len(f.secs); ti++ {
		t := &f.secs[ti]
		if t.typ != cnSHTSymtab {
			continue
		}
		syms, err := f.data(ti)
		if err != nil {
			return nil, err
		}
		n := uint64(len(syms)) / symSize
		newIdx := make([]int64, n) // -1: dropped
		var next int64
		for j := uint64(0); j < n; j++ {
			s := syms[j*symSize:]
			if int(bo.Uint16(s[shndxOff:])) != k || j == 0 {
				newIdx[j] = next
				next++
				continue
			}
			if s[nameInfo]&0xf != 3 { // STT_SECTION
				return nil, formats.Errorf(m, RHEL6ID, int64(t.off+j*symSize), "symbol %d is defined in the signature section and is not its section symbol", j)
			}
			newIdx[j] = -1
		}
		if uint64(next) == n {
			continue
		}
		if out == nil {
			out = append([]byte(nil), b...)
		}
		// Renumber the relocations and groups that use this table.
		for ri := 1; ri < len(f.secs); ri++ {
			r := &f.secs[ri]
			if int(r.link) != ti {
				continue
			}
			switch r.typ {
			case cnSHTRel, cnSHTRela:
				d, err := f.data(ri)
				if err != nil {
					return nil, err
				}
				ent := entRel
				if r.typ == cnSHTRela {
					ent = entRela
				}
				for e := uint64(0); e+ent <= uint64(len(d)); e += ent {
					at := r.off + e + entRel/2 // r_info follows r_offset (4 or 8 bytes)
					var sym uint64
					if f.is64 {
						info := bo.Uint64(out[at:])
						sym = info >> 32
						if sym < n && newIdx[sym] >= 0 {
							bo.PutUint64(out[at:], uint64(newIdx[sym])<<32|info&0xffffffff)
						}
					} else {
						info := uint64(bo.Uint32(out[at:]))
						sym = info >> 8
						if sym < n && newIdx[sym] >= 0 {
							bo.PutUint32(out[at:], uint32(uint64(newIdx[sym])<<8|info&0xff))
						}
					}
					if sym < n && newIdx[sym] < 0 {
						return nil, formats.Errorf(m, RHEL6ID, int64(at), "relocation against the signature section's symbol %d", sym)
					}
				}
			case 17: // SHT_GROUP: sh_info is the signature symbol
				if uint64(r.info) < n {
					if newIdx[r.info] < 0 {
						return nil, formats.Errorf(m, RHEL6ID, r.hdrOff, "section group keyed by the signature section's symbol")
					}
					rhelPutInfo(f, out, r, uint32(newIdx[r.info]))
				}
			}
		}
		// Compact the table in place and zero the freed tail.
		w := t.off
		for j := uint64(0); j < n; j++ {
			if newIdx[j] >= 0 {
				copy(out[w:w+symSize], syms[j*symSize:(j+1)*symSize])
				w += symSize
			}
		}
		clear(out[w : t.off+n*symSize])
		if uint64(t.info) <= n {
			locals := uint32(0)
			for j := uint64(0); j < uint64(t.info); j++ {
				if newIdx[j] >= 0 {
					locals++
				}
			}
			rhelPutInfo(f, out, t, locals)
		}
		size := uint64(next) * symSize
		if f.is64 {
			bo.PutUint64(out[t.hdrOff+32:], size)
		} else {
			bo.PutUint32(out[t.hdrOff+20:], uint32(size))
		}
	}
	if out == nil {
		return b, nil
	}
	return out, nil
}

// rhelPutInfo writes sh_info of section s into the header table in out.
func rhelPutInfo(f *cnFile, out []byte, s *cnSection, v uint32) {
	off := s.hdrOff + 28
	if f.is64 {
		off = s.hdrOff + 44
	}
	f.bo.PutUint32(out[off:], v)
}

// rhelRemove removes section name, first dropping its section symbols when it has any (an
// `ld -r` merged note); see [rhelDropSectionSymbols].
func rhelRemove(m formats.Module, name string, typ uint32) ([]byte, error) {
	f, err := cnOpen(m, RHEL6ID)
	if err != nil {
		return nil, err
	}
	k := f.find(name, typ)
	if k == 0 {
		return Remove(m, name) // reports "not signed" in the surgery's words
	}
	b, err := m.Bytes()
	if err != nil {
		return nil, err
	}
	b2, err := rhelDropSectionSymbols(m, b, k)
	if err != nil {
		return nil, err
	}
	return Remove(formats.NewModule(m.Name, b2), name)
}
