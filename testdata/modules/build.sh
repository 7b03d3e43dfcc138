#!/bin/sh
# build.sh: rebuild testdata/modules/hello.ko and hello2.ko from src/.
#
# Each module is built out of tree by kbuild against the installed Debian kernel headers
# (/usr/src/linux-headers-*-amd64, the newest one found, or $KDIR), in a temporary copy of its
# source directory (never in the tree), then stripped of debug information with
# `strip --strip-debug` the way Debian's packaged modules are, and copied here unsigned.
# Tests use the committed .ko files; this script is never run by a test. Rebuilding changes
# the bytes (different headers, compiler), so golden files depending on them must be re-made
# by their own recipes.
#
# Requires: gcc, make, binutils, linux-headers-<version>-amd64 (Debian 12: linux-headers-6.1.0-*-amd64).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${KDIR:-}" ]; then
	KDIR=$(ls -d /usr/src/linux-headers-*-amd64 2> /dev/null | sort -V | tail -n 1)
fi
[ -n "$KDIR" ] && [ -f "$KDIR/Makefile" ] || {
	echo "build.sh: no kernel headers (install linux-headers-amd64 or set KDIR)" >&2
	exit 1
}
echo "build.sh: kernel headers $KDIR"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for m in hello hello2; do
	cp -r "$here/src/$m" "$tmp/$m"
	# -ffile-prefix-map keeps the temporary path out of the debug info, and so out of the
	# build-id note that is computed over it: the same headers and compiler give the same bytes.
	make -s -C "$KDIR" M="$tmp/$m" KCFLAGS="-ffile-prefix-map=$tmp/=" modules
	strip --strip-debug -o "$here/$m.ko" "$tmp/$m/$m.ko"
	chmod 644 "$here/$m.ko"
	# An unsigned module never ends with the signature marker.
	if [ "$(tail -c 28 "$here/$m.ko")" = "~Module signature appended~" ]; then
		echo "build.sh: $m.ko came out signed" >&2
		exit 1
	fi
	modinfo "$here/$m.ko"
done
