// Package elfsig implements the three module-signature formats that live inside the ELF image
// as a section, and the ELF section surgery they share.
//
// # The formats
//
// All three put a detached OpenPGP-era signature into an extra section of the module (an ELF
// relocatable object, ET_REL) and sign not the file but a stream derived from its sections, so
// that the signature section itself is not covered:
//
//   - gkh2004: Greg Kroah-Hartman's 2003–2004 patch (Linux Journal #117, never merged). Section
//     `module_sig` (no dot), SHA-1 over the "text/data section stream": every section whose
//     name contains "text" or "data" but not ".rel.", in header order. Three variants:
//     detached (a gpg -b signature, what the last tree produced), encrypted (the article's
//     gpg -e of the hex digest) and rsa (a raw RSA MPI, a reconstruction). See [GKH2004].
//   - rhel5: Red Hat's RHEL4/RHEL5 `.module_sig` PROGBITS section, a DSA signature over the
//     mod-extract canonical stream (sections, relocations and symbols in canonical order). See
//     the rhel5 driver's doc comment.
//   - rhel6: RHEL6 (DSA) and Fedora 2012 (RSA) `.note.module.sig` ELF note over the sorted
//     canonical stream. See the rhel6 driver's doc comment.
//
// FORMATS.md in the project documentation has the byte-level specification of each, with the
// sources and the labels saying what is inferred.
//
// # Section surgery
//
// Go's debug/elf reads ELF but there is no maintained Go ELF writer, and the formats need an
// exact inverse, so the surgery is ours. [NewFile] reads the ELF header and section header
// table of ELF32 and ELF64 files in either byte order, with a bound check on every field and
// the e_shnum / e_shstrndx escapes resolved; it refuses what it cannot represent exactly with a
// *formats.FormatError naming the byte offset. [File.Section] finds a section the way the
// kernels did (first match from index 1), [File.Stream] streams selected sections without
// copying the module.
//
// [Add] appends a section without moving any existing byte: a copy of the name table with the
// new name, the data, and a new header table go at the end, and only e_shoff and e_shnum change
// in the ELF header. [Remove] undoes it byte for byte, recovering the original e_shoff, name
// table and escapes from the untouched original table, and proves the result by re-adding the
// section and comparing. A section added by objcopy (which re-lays out the file) cannot be
// removed exactly; Remove then rebuilds the module the way `objcopy --remove-section` renumbers
// sections and says so with [ErrNotExact].
//
// The output of Add passes `readelf -a` without warnings, `objcopy --dump-section` extracts
// exactly the data, and `ld -r` accepts it, on x86-64, i386, 32-bit PowerPC (big endian) and
// s390x (64-bit big endian) objects (elf_test.go).
package elfsig
