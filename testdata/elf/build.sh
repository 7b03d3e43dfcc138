#!/bin/sh
# build.sh: rebuild the ELF fixtures of testdata/elf from src/mod.c.
#
# One C source, four ELF kinds, each an ET_REL object laid out like a kernel module:
#   x86_64.ko   gcc                  ELF64 little-endian, RELA
#   i386.ko     i686-linux-gnu-gcc   ELF32 little-endian, REL
#   ppc32be.ko  powerpc-linux-gnu-gcc ELF32 big-endian,   RELA
#   s390x.ko    s390x-linux-gnu-gcc  ELF64 big-endian,    RELA
# compiled with -c -O2 -fno-pic -ffreestanding -fno-asynchronous-unwind-tables (no debug info).
# Tests use the committed files; this script is never run by a test. Rebuilding with another
# compiler version changes the bytes.
#
# Requires (Debian 12): gcc, gcc-i686-linux-gnu, gcc-powerpc-linux-gnu, gcc-s390x-linux-gnu.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/src/mod.c" "$tmp/mod.c"   # compile from a neutral directory: no tree path in the output

CFLAGS="-c -O2 -fno-pic -ffreestanding -fno-asynchronous-unwind-tables -Wall"

build() { # build OUT CC [EXTRA FLAGS]
	out=$1
	cc=$2
	shift 2
	(cd "$tmp" && $cc $CFLAGS "$@" -o "$out" mod.c)
	cp "$tmp/$out" "$here/$out"
	chmod 644 "$here/$out"
	echo "== $out ($($cc --version | head -n 1))"
	readelf -h "$here/$out" | grep -E 'Class|Data|Type|Machine'
}

build x86_64.ko gcc
build i386.ko i686-linux-gnu-gcc
build ppc32be.ko powerpc-linux-gnu-gcc
build s390x.ko s390x-linux-gnu-gcc
