package x509sig

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"

	"github.com/kmodsig/kmodsig/formats"
)

// findRC1 recognises the 3.7-rc1 layout payload ‖ MARKER ‖ signer ‖ key_id ‖ sig ‖ block: the
// last 12 bytes are an id_type 1 block whose lengths add up exactly to what lies between a
// marker and the block, and that marker lies beyond the end of the ELF image (FORMATS.md
// Detection step 3) [INF].
func findRC1(m formats.Module) (*layout, bool) {
	const bs = formats.ModSigBlockSize
	ml := int64(len(formats.Marker))
	if m.Size < ml+bs+3 {
		return nil, false
	}
	raw := m.Tail(bs)
	if raw == nil || raw[2] != formats.IDTypeX509 {
		return nil, false
	}
	b := formats.DecodeModSig(raw)
	if b.SigLen == 0 || b.SigLen > formats.MaxSignatureSize {
		return nil, false
	}
	total := int64(b.SigLen) + int64(b.SignerLen) + int64(b.KeyIDLen)
	markerOff := m.Size - bs - total - ml
	if markerOff <= 0 {
		return nil, false
	}
	mk, err := m.ReadAt(ID, markerOff, ml)
	if err != nil || string(mk) != formats.Marker {
		return nil, false
	}
	end, err := elfImageEnd(m.Prefix(markerOff))
	if err != nil || end > markerOff {
		return nil, false
	}
	l := &layout{variant: VariantRC1, block: b, blockOff: m.Size - bs, markerOff: markerOff,
		signerOff: markerOff + ml, payloadLen: markerOff}
	l.keyIDOff = l.signerOff + int64(b.SignerLen)
	l.sigOff = l.keyIDOff + int64(b.KeyIDLen)
	return l, true
}

// elfImageEnd returns the end of the ELF image in m: the largest of the end of the ELF header,
// the program and section header tables and every section's file data.
func elfImageEnd(m formats.Module) (int64, error) {
	f, err := elf.NewFile(io.NewSectionReader(m.R, 0, m.Size))
	if err != nil {
		return 0, err
	}
	hdr, err := m.ReadAt("elf", 0, min(m.Size, 64))
	if err != nil {
		return 0, err
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	var end, phoff, shoff, phentsize, phnum, shentsize int64
	switch f.Class {
	case elf.ELFCLASS64:
		if len(hdr) < 64 {
			return 0, errors.New("short ELF64 header")
		}
		end = 64
		phoff, shoff = int64(bo.Uint64(hdr[0x20:])), int64(bo.Uint64(hdr[0x28:]))
		phentsize, phnum = int64(bo.Uint16(hdr[0x36:])), int64(bo.Uint16(hdr[0x38:]))
		shentsize = int64(bo.Uint16(hdr[0x3a:]))
	case elf.ELFCLASS32:
		if len(hdr) < 52 {
			return 0, errors.New("short ELF32 header")
		}
		end = 52
		phoff, shoff = int64(bo.Uint32(hdr[0x1c:])), int64(bo.Uint32(hdr[0x20:]))
		phentsize, phnum = int64(bo.Uint16(hdr[0x2a:])), int64(bo.Uint16(hdr[0x2c:]))
		shentsize = int64(bo.Uint16(hdr[0x2e:]))
	default:
		return 0, errors.New("unknown ELF class")
	}
	if phoff < 0 || shoff < 0 || phoff > m.Size || shoff > m.Size {
		return 0, errors.New("header table offset beyond the file")
	}
	if phnum > 0 {
		end = max(end, phoff+phnum*phentsize)
	}
	if n := int64(len(f.Sections)); n > 0 {
		end = max(end, shoff+n*shentsize)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Offset > uint64(m.Size) || s.FileSize > uint64(m.Size) {
			return 0, errors.New("section data beyond the file")
		}
		end = max(end, int64(s.Offset)+int64(s.FileSize))
	}
	return end, nil
}
