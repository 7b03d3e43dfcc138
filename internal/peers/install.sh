#!/usr/bin/env bash
# install.sh installs the independent peer tools of ORACLES.md with apt-get when run as root,
# retrying while another installer holds the dpkg lock. Not root: it prints which peers are
# missing (the tests that need them skip, naming the package) and exits 0.
# With --kernel it also installs the real-kernel harness (linux-source-6.1, qemu, busybox, the
# kernel build dependencies).
set -u
base=(kmod openssl gnupg ima-evm-utils linux-kbuild-6.1 keyutils gnutls-bin softhsm2
      libengine-pkcs11-openssl opensc binutils xxd file xz-utils zstd gzip python3 gcc make
      linux-headers-amd64 gcc-i686-linux-gnu gcc-powerpc-linux-gnu gcc-s390x-linux-gnu
      binutils-powerpc-linux-gnu binutils-s390x-linux-gnu)
kernel=(linux-source-6.1 qemu-system-x86 busybox-static build-essential bc bison flex libelf-dev
        libssl-dev cpio rsync dwarves)
pkgs=("${base[@]}")
[ "${1:-}" = "--kernel" ] && pkgs+=("${kernel[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "peers: all ${#pkgs[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "peers: not root (or no apt-get); missing: ${missing[*]}"
  echo "peers: tests that need them will skip, naming the package"
  exit 0
fi
echo "peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
for try in 1 2 3 4 5 6 7 8 9 10; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/kmodsig-apt.log 2>&1; then
    echo "peers: installed"
    exit 0
  fi
  echo "peers: apt-get failed (try $try), retrying in 15s (dpkg lock?)"; tail -3 /tmp/kmodsig-apt.log
  sleep 15
done
echo "peers: could not install ${missing[*]}" >&2
exit 1
