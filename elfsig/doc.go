// Package elfsig implements the three module-signature formats that live inside the ELF image
// as a section, and the ELF section surgery they share.
//
// # The formats
//
// All three put an OpenPGP-era signature into an extra section of the module (an ELF
// relocatable object, ET_REL) and sign not the file but a stream derived from its sections, so
// that the signature section itself is not covered. They are the oldest module signatures;
// none of them reached mainline Linux.
//
//   - gkh2004 ([GKH2004]): Greg Kroah-Hartman's 2003–2004 patch (Linux Journal #117, never
//     merged). Section `module_sig` (no dot); SHA-1 over the "text/data section stream": every
//     section whose name contains "text" or "data" but not ".rel.", in header order. The
//     kernel's rule and the userspace signer's (libbfd) rule disagree, most visibly on
//     ".rela.text", which the kernel hashes ([GKHRule]). Three variants: detached (a gpg -b
//     signature, what the last tree produced), encrypted (the article's gpg -e of the hex
//     digest; checkable only with the private key) and rsa (a raw RSA MPI, a reconstruction).
//   - rhel5 ([RHEL5]): Red Hat's RHEL4/RHEL5 `.module_sig` PROGBITS section, a DSA
//     signature over the mod-extract canonical stream (ALLOC sections, their relocations and
//     the symbols they use, in canonical order; see [Canonical]).
//   - rhel6 ([RHEL6]): the `.note.module.sig` ELF note of RHEL6 (DSA) and Fedora 2012
//     (RSA, the Howells OpenPGP rules) over the sorted canonical stream.
//
// FORMATS.md in the project documentation has the byte-level specification of each, with the
// sources and labels saying what is inferred. Each driver's doc comment tells its own story:
// container, payload, variants, keys and the result codes of its era's kernels.
//
// # Section surgery
//
// Go's debug/elf reads ELF but cannot write it, there is no maintained Go ELF writer, and the
// formats need an exact inverse of "add a section", so the surgery is ours. [NewFile] reads the
// ELF header and section header table of ELF32 and ELF64 files in either byte order, with a
// bound check on every field and the e_shnum / e_shstrndx escapes resolved; it keeps the raw
// fields the writer needs (name offsets, header positions, raw escape values) and refuses what
// it cannot represent exactly with a *formats.FormatError naming the byte offset. The tests
// check it against debug/elf on every fixture. [File.Section] finds a section the way the
// kernels did (first match from index 1); [File.Stream] streams selected sections without
// copying the module (an io.MultiReader of io.SectionReaders).
//
// [Add] appends a section without moving any existing byte: a copy of the name table with the
// new name, the data and a new header table go at the end, and only e_shoff and e_shnum change
// in the ELF header (the count escape is used from 0xff00 sections on). [Remove] undoes it byte
// for byte with nothing recorded on the side: the original size is where the name-table copy
// starts, the original table is found in the file as the run of entries the new table repeats,
// and it gives back e_shoff and the escapes; the candidate is proven by adding the section again
// and comparing. A section added by `objcopy --add-section`, which re-lays out the whole file,
// cannot be removed exactly; Remove then rebuilds the module the way `objcopy --remove-section`
// renumbers sections (same section contents and streams, different layout) and says so with
// [ErrNotExact]. The drivers' Strip methods accept the rebuild.
//
// The output of Add passes `readelf -a` without warnings, `objcopy --dump-section` extracts
// exactly the data, and `ld -r` accepts it, on x86-64, i386, 32-bit PowerPC (big endian) and
// s390x (64-bit big endian) objects and on a real kbuild module (elf_test.go).
//
// # Notes for oracle scripts
//
// `objcopy -O binary --only-section=NAME` writes only ALLOC sections: for the non-ALLOC
// module_sig (and .rela.* sections) binutils 2.40 writes an empty file. Use
// `objcopy --dump-section NAME=FILE IN SCRATCH` for non-ALLOC sections, and the file bytes at
// the offset `readelf -SW` prints for REL/RELA and NOBITS sections, which objcopy cannot dump.
package elfsig
