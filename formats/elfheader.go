package formats

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// ErrnoENOEXEC is what every kernel returns for a module that is not a relocatable ELF object
// of a valid layout (see ELFHeaderRefusal).
const ErrnoENOEXEC Errno = "ENOEXEC"

// ELFByteOrder returns the byte order an ELF header's data encoding (e_ident[EI_DATA]) names:
// little endian for ELFDATA2LSB (1), big endian for ELFDATA2MSB (2), nil for anything else.
func ELFByteOrder(data byte) binary.ByteOrder {
	switch data {
	case 1:
		return binary.LittleEndian
	case 2:
		return binary.BigEndian
	}
	return nil
}

// ELFHeaderRefusal says why a kernel refuses the first n bytes of m (the module as the kernel
// sees it once the signature is taken off) as an ELF object, or returns "" when it does not.
// These are the checks every Linux since 2.6 makes on the ELF header before it looks at a
// section (load_module; elf_header_check from 3.7; elf_validity_check from 5.x): the ELF
// magic, a header that fits, a relocatable object (ET_REL), section header entries of the
// class's size, and a section header table inside the module. Each fails with ENOEXEC.
//
// From 3.7 on the kernel checks the signature first (module_sig_check, then the ELF checks:
// kernel/module/main.c in 6.1); in the ELF-section eras the order is not settled here. It does
// not matter where the signature check passes (or, permissive, is forgiven): either way the
// module is then refused with ENOEXEC, which is all a caller should use this for.
//
// Not modelled (inferred from the sources, not a kernel's behaviour in every era):
// elf_check_arch, the module's machine against the kernel's, which kmodsig's kernel models do
// not name; the class and byte order are taken from the module itself; and the checks after
// the header (each section inside the file, the section names, .modinfo,
// .gnu.linkonce.this_module), which also give ENOEXEC.
func ELFHeaderRefusal(m Module, n int64) string {
	if n > m.Size {
		n = m.Size
	}
	h, err := m.ReadAt("elf", 0, min(n, 64))
	if err != nil {
		return err.Error()
	}
	if len(h) < 16 || !bytes.Equal(h[:4], []byte("\x7fELF")) {
		return "not an ELF file (no \\x7fELF magic)"
	}
	var ehsize, shsize int64
	switch h[4] {
	case 1: // ELFCLASS32
		ehsize, shsize = 52, 40
	case 2: // ELFCLASS64
		ehsize, shsize = 64, 64
	default:
		return fmt.Sprintf("ELF class %d is neither 32 nor 64 bits", h[4])
	}
	bo := ELFByteOrder(h[5])
	if bo == nil {
		return fmt.Sprintf("ELF data encoding %d is neither little nor big endian", h[5])
	}
	if n < ehsize {
		return fmt.Sprintf("%d bytes, shorter than an ELF header (%d)", n, ehsize)
	}
	if etype := bo.Uint16(h[16:]); etype != 1 {
		return fmt.Sprintf("ELF type %d, not a relocatable object (ET_REL)", etype)
	}
	// e_shoff, e_shentsize, e_shnum (unsigned, as the kernel compares them)
	shoff, shentsize, shnum := uint64(bo.Uint32(h[32:])), bo.Uint16(h[46:]), bo.Uint16(h[48:])
	if ehsize == 64 {
		shoff, shentsize, shnum = bo.Uint64(h[40:]), bo.Uint16(h[58:]), bo.Uint16(h[60:])
	}
	if int64(shentsize) != shsize {
		return fmt.Sprintf("section header entries of %d bytes, not %d", shentsize, shsize)
	}
	if size := uint64(n); shoff >= size || uint64(shnum)*uint64(shsize) > size-shoff {
		return fmt.Sprintf("section header table (%d entries at %d) beyond the module's %d bytes", shnum, shoff, n)
	}
	return ""
}
