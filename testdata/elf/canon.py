#!/usr/bin/env python3
"""canon.py: an independent implementation of the Red Hat canonical module stream.

Written from kmodsig's FORMATS.md (sections `rhel5` "Payload: the mod-extract canonical
stream" and `rhel6` "Payload: sorted canonical stream"), not from kmodsig's Go code, with
the Python standard library only. It produces the golden files testdata/elf/canon-*.rhel5
and canon-*.rhel6 that elfsig's Go tests compare against:

    python3 testdata/elf/canon.py rhel5 testdata/elf/x86_64.ko > testdata/elf/canon-x86_64.rhel5
    python3 testdata/elf/canon.py --golden testdata/elf testdata/elf/*.ko testdata/modules/hello.ko

--golden OUTDIR KO... writes OUTDIR/canon-NAME.rhel5 and canon-NAME.rhel6 for each NAME.ko.

Rules (FORMATS.md):
  1. Canonical list: sections i >= 1 with SHF_ALLOC (NOBITS too); rhel6 adds REL/RELA sections
     whose target (sh_info) is SHF_ALLOC. Stable sort by name (byte-wise); canonmap = 1-based
     position; sections outside the list map to 0 (mod-extract's calloc).
  2. rhel5 walks the header table: REL/RELA whose target was already emitted -> relocation
     block; ALLOC non-NOBITS -> name + sh_type + sh_flags + sh_size + sh_addralign + bytes, then
     marked emitted. rhel6 walks the sorted list: REL/RELA -> relocation block; ALLOC NOBITS
     -> the header fields only; others -> header fields + bytes.
  3. Relocation block: header fields + u32 canonmap[sh_info], then per entry a packed record
     (ELF64: r_offset, [r_addend], st_value, st_size as u64, r_type u32, st_shndx u16,
     st_info u8, st_other u8; ELF32: r_offset, [r_addend], st_value, st_size as u32,
     st_shndx u16, r_type u8, st_info u8, st_other u8), all in the module's byte order;
     st_shndx -> canonmap[st_shndx] when 0 < st_shndx < e_shnum; after a record whose
     symbol is undefined (st_shndx == 0) the symbol name and its NUL.
  The symbol table is the SHT_SYMTAB section named .symtab, strings the SHT_STRTAB .strtab.
"""
import os
import struct
import sys

SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL = 2, 3, 4, 8, 9
SHF_ALLOC = 2


def cstr(buf, off):
    end = buf.index(b"\0", off)
    return buf[off:end]


def canonical(data, variant):
    assert data[:4] == b"\x7fELF", "not ELF"
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    if is64:
        (shoff,) = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        shdr = e + "IIQQQQIIQQ"
        word = "Q"
    else:
        (shoff,) = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
        shdr = e + "IIIIIIIIII"
        word = "I"

    secs = []
    for i in range(shnum):
        f = struct.unpack_from(shdr, data, shoff + i * shentsize)
        secs.append(dict(zip(
            ["name_off", "type", "flags", "addr", "offset", "size", "link", "info", "align", "entsize"], f)))
    strtab_hdr = secs[shstrndx]
    shstr = data[strtab_hdr["offset"]:strtab_hdr["offset"] + strtab_hdr["size"]]
    for s in secs:
        s["name"] = cstr(shstr, s["name_off"])
        s["data"] = b"" if s["type"] == SHT_NOBITS else data[s["offset"]:s["offset"] + s["size"]]

    def is_alloc(i):
        return bool(secs[i]["flags"] & SHF_ALLOC)

    def is_rel(i):
        return secs[i]["type"] in (SHT_REL, SHT_RELA)

    # step 1: canonical list (Python's sort is stable)
    lst = []
    for i in range(1, shnum):
        if is_alloc(i):
            lst.append(i)
        elif variant == "rhel6" and is_rel(i) and is_alloc(secs[i]["info"]):
            lst.append(i)
    lst.sort(key=lambda i: secs[i]["name"])
    canonmap = [0] * shnum
    for pos, i in enumerate(lst):
        canonmap[i] = pos + 1

    symtab = [s for s in secs if s["type"] == SHT_SYMTAB and s["name"] == b".symtab"][0]["data"]
    strtab = [s for s in secs if s["type"] == SHT_STRTAB and s["name"] == b".strtab"][0]["data"]
    symsize = 24 if is64 else 16

    def header(i):
        s = secs[i]
        return s["name"] + struct.pack(e + "I" + word * 3, s["type"], s["flags"], s["size"], s["align"])

    def symbol(k):
        if is64:
            name, info, other, shndx, value, size = struct.unpack_from(e + "IBBHQQ", symtab, k * symsize)
        else:
            name, value, size, info, other, shndx = struct.unpack_from(e + "IIIBBH", symtab, k * symsize)
        return name, value, size, info, other, shndx

    def relblock(i):
        s = secs[i]
        rela = s["type"] == SHT_RELA
        out = [header(i), struct.pack(e + "I", canonmap[s["info"]])]
        if is64:
            ent = 24 if rela else 16
        else:
            ent = 12 if rela else 8
        nsyms = len(symtab) // symsize
        for k in range(len(s["data"]) // ent):
            if rela:
                off, info, addend = struct.unpack_from(e + word * 3, s["data"], k * ent)
            else:
                off, info = struct.unpack_from(e + word * 2, s["data"], k * ent)
                addend = None
            if is64:
                symidx, rtype = info >> 32, info & 0xFFFFFFFF
            else:
                symidx, rtype = info >> 8, info & 0xFF
            assert symidx < nsyms, "symbol index out of range"
            name, value, size, sinfo, other, shndx = symbol(symidx)
            canon_shndx = canonmap[shndx] & 0xFFFF if 0 < shndx < shnum else shndx
            fields = [off] + ([addend] if rela else []) + [value, size]
            rec = struct.pack(e + word * len(fields), *fields)
            if is64:
                rec += struct.pack(e + "IHBB", rtype, canon_shndx, sinfo, other)
            else:
                rec += struct.pack(e + "HBBB", canon_shndx, rtype, sinfo, other)
            out.append(rec)
            if shndx == 0:
                out.append(cstr(strtab, name) + b"\0")
        return b"".join(out)

    out = []
    if variant == "rhel5":
        emitted = set()
        for i in range(1, shnum):
            if is_rel(i):
                if secs[i]["info"] in emitted:
                    out.append(relblock(i))
                continue
            if is_alloc(i) and secs[i]["type"] != SHT_NOBITS:
                out.append(header(i) + secs[i]["data"])
                emitted.add(i)
    elif variant == "rhel6":
        for i in lst:
            if is_rel(i):
                out.append(relblock(i))
            elif secs[i]["type"] == SHT_NOBITS:
                out.append(header(i))
            else:
                out.append(header(i) + secs[i]["data"])
    else:
        raise SystemExit("variant must be rhel5 or rhel6")
    return b"".join(out)


def main(argv):
    if len(argv) >= 3 and argv[1] == "--golden":
        d = argv[2]
        for path in argv[3:]:
            fn = os.path.basename(path)
            data = open(path, "rb").read()
            for v in ("rhel5", "rhel6"):
                dst = os.path.join(d, "canon-%s.%s" % (fn[:-3], v))
                with open(dst, "wb") as f:
                    f.write(canonical(data, v))
                print(dst)
        return
    if len(argv) != 3:
        raise SystemExit(__doc__)
    data = open(argv[2], "rb").read()
    sys.stdout.buffer.write(canonical(data, argv[1]))


if __name__ == "__main__":
    main(sys.argv)
