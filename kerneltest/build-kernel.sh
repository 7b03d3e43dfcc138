#!/bin/sh
# build-kernel.sh: build (once) the small Linux 6.1 kernel that judges kmodsig's output, and print
# the cache directory that holds it.
#
#   kerneltest/build-kernel.sh SIGNING_PEM TRUSTED_CERT...
#
# SIGNING_PEM (key + certificate, PEM) becomes CONFIG_MODULE_SIG_KEY, so the kernel trusts its
# certificate; the TRUSTED_CERT files (PEM) are concatenated into CONFIG_SYSTEM_TRUSTED_KEYS.
# The result lives in
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/kmodsig/kernel/<linux-source version>-<key>/
#   (or $KMODSIG_CACHE/kernel/..., which the Makefile exports with the same default)
#       bzImage   the kernel
#       tree/     the built source tree (for `make -C tree M=... modules`, usr/gen_init_cpio)
#       config    the final .config
#       build.log the build output
#       stamp     written last: version, key, build time
#
# where <key> is the first 16 hex digits of the SHA-256 over the config inputs: the kconfig file
# next to this script, the compiler version, and every key/certificate file (name and content, in
# order), plus CACHE_LAYOUT. The tree is built in a temporary directory next to
# the cache entry and renamed into place, so an interrupted build never leaves a half entry; a
# lock serialises concurrent builds. A second run finds the stamp and prints the directory at once.
#
# Needs linux-source-6.1 and the kernel build dependencies; when run as root it installs what is
# missing with apt-get (KMODSIG_NO_APT=1 forbids that); when it cannot, it exits with status 3
# and one line saying why. ORACLES.md section 8 is the recipe.
set -eu

die() { echo "build-kernel.sh: $*" >&2; exit 1; }
# cannot: the harness cannot run here (not a failure of the harness); exit status 3.
cannot() { echo "build-kernel.sh: $*" >&2; exit 3; }
[ $# -ge 2 ] || die "usage: build-kernel.sh SIGNING_PEM TRUSTED_CERT..."
for f in "$@"; do [ -r "$f" ] || die "cannot read $f"; done
# Absolute paths: the build runs inside the tree.
abs=""
for f in "$@"; do abs="$abs $(readlink -f "$f")"; done
# shellcheck disable=SC2086 # paths without spaces (checked below)
set -- $abs
for f in "$@"; do [ -r "$f" ] || die "key path with spaces not supported: $f"; done

SRCPKG=linux-source-6.1
TARBALL=/usr/src/$SRCPKG.tar.xz
PKGS="$SRCPKG qemu-system-x86 busybox-static build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils kmod util-linux"

# missing_pkgs prints the packages of $PKGS that are not installed.
missing_pkgs() {
	for p in $PKGS; do
		s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$s" in *"install ok installed"*) ;; *) printf '%s ' "$p" ;; esac
	done
}

install_deps() {
	command -v dpkg-query >/dev/null 2>&1 || cannot "not a Debian system: install $PKGS by hand"
	miss=$(missing_pkgs)
	[ -z "$miss" ] && return 0
	[ "$(id -u)" = 0 ] || cannot "missing packages ($miss) and not root to install them"
	[ "${KMODSIG_NO_APT:-0}" = 1 ] && cannot "missing packages ($miss) and KMODSIG_NO_APT=1"
	echo "build-kernel.sh: installing $miss" >&2
	# Another installer may hold the dpkg lock: retry rather than fail (ORACLES.md section 1).
	i=0
	until DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y \
		--no-install-recommends $miss >&2; do
		i=$((i + 1))
		[ $i -ge 5 ] && die "apt-get install $miss failed"
		[ $i -eq 1 ] && apt-get update >&2 || true
		sleep 10
	done
}

install_deps
[ -r "$TARBALL" ] || die "$TARBALL missing (package $SRCPKG)"

VERSION=$(dpkg-query -W -f='${Version}' "$SRCPKG")
KCONFIG=$(dirname "$(readlink -f "$0")")/kconfig
[ -r "$KCONFIG" ] || die "missing $KCONFIG"
# CACHE_LAYOUT names what a cache entry holds; bump it when that changes.
CACHE_LAYOUT=1
KEY=$( {
	echo "layout $CACHE_LAYOUT"
	cat "$KCONFIG"
	gcc --version | head -n 1
	for f in "$@"; do
		printf '%s\n' "${f##*/}"
		cat "$f"
	done
} | sha256sum | cut -c1-16)
BASE=${KMODSIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmodsig}/kernel
DEST=$BASE/$VERSION-$KEY
# "used" is touched on every use; building a new entry removes the entries nobody used for
# KMODSIG_KERNEL_KEEP_DAYS days (default 14): each holds a 1.5 GB tree.
if [ -f "$DEST/stamp" ]; then touch "$DEST/used"; echo "$DEST"; exit 0; fi

mkdir -p "$BASE"
exec 9>"$BASE/.lock"
flock 9
if [ -f "$DEST/stamp" ]; then touch "$DEST/used"; echo "$DEST"; exit 0; fi
rm -rf "$DEST" # a directory without a stamp is a leftover: never trust it
KEEP=${KMODSIG_KERNEL_KEEP_DAYS:-14}
case $KEEP in '' | *[!0-9]*) die "KMODSIG_KERNEL_KEEP_DAYS must be a number of days" ;; esac
for old in "$BASE"/*/; do
	old=${old%/}
	[ -f "$old/stamp" ] && [ "$old" != "$DEST" ] || continue
	if [ -z "$(find "$old" -maxdepth 1 \( -name used -o -name stamp \) -mtime -"$KEEP")" ]; then
		echo "build-kernel.sh: removing $old (unused for $KEEP days)" >&2
		rm -rf "$old"
	fi
done

TMP=$(mktemp -d "$BASE/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
LOG=$TMP/build.log
START=$(date +%s)
echo "build-kernel.sh: building Linux $VERSION into $DEST (log: $LOG)" >&2

build() {
	mkdir "$TMP/tree"
	tar -xJf "$TARBALL" -C "$TMP/tree" --strip-components=1
	cd "$TMP/tree"
	# Keys inside the tree, by relative path: kbuild resolves relative key paths against the
	# source tree, so the tree still works after the rename.
	mkdir -p certs/kmodsig
	cp "$1" certs/kmodsig/signing.pem
	shift
	for f in "$@"; do cat "$f" && echo; done >certs/kmodsig/trusted.pem

	make -s tinyconfig
	for pass in 1 2; do
		# Some symbols only appear once their parents are on: apply everything twice.
		eval "scripts/config $(grep -v -e '^#' -e '^$' "$KCONFIG" | tr '\n' ' ')"
		make -s olddefconfig
	done
	for want in CONFIG_MODULES=y CONFIG_MODULE_SIG=y CONFIG_MODULE_UNLOAD=y \
		CONFIG_MODULE_SIG_KEY=\"certs/kmodsig/signing.pem\" \
		CONFIG_SYSTEM_TRUSTED_KEYS=\"certs/kmodsig/trusted.pem\" \
		CONFIG_CRYPTO_RSA=y CONFIG_CRYPTO_ECDSA=y CONFIG_CRYPTO_SHA1=y CONFIG_CRYPTO_SHA256=y \
		CONFIG_CRYPTO_SHA512=y CONFIG_PKCS7_MESSAGE_PARSER=y CONFIG_SERIAL_8250_CONSOLE=y \
		CONFIG_BLK_DEV_INITRD=y CONFIG_DEVTMPFS=y; do
		grep -qx "$want" .config || { echo "config check failed: $want not set"; exit 1; }
	done
	for off in MODULE_SIG_FORCE MODULE_SIG_ALL; do
		if grep -q "^CONFIG_$off=y" .config; then echo "config check failed: $off must be off"; exit 1; fi
	done
	make -j"$(nproc)"
	make usr/gen_init_cpio
	cp arch/x86/boot/bzImage "$TMP/bzImage"
	cp .config "$TMP/config"
}

# A subshell run as a plain statement keeps `set -e` in force inside it (it would be ignored
# under `||`).
set +e
(
	set -e
	build "$@"
) >"$LOG" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
	cp "$LOG" "$BASE/failed-build.log"
	tail -n 40 "$LOG" >&2
	die "kernel build failed (full log: $BASE/failed-build.log)"
fi

END=$(date +%s)
printf 'linux-source %s\nkey %s\nbuilt %s\nseconds %s\n' "$VERSION" "$KEY" \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((END - START))" >"$TMP/stamp.new"
mv "$TMP/stamp.new" "$TMP/stamp"
touch "$TMP/used"
mv "$TMP" "$DEST"
trap - EXIT INT TERM
echo "build-kernel.sh: built in $((END - START)) s" >&2
echo "$DEST"
