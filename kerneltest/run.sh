#!/bin/sh
# run.sh: run the real-kernel test by hand (see doc.go).
#
#   kerneltest/run.sh [go test flags...]      e.g. kerneltest/run.sh -count=1
#
# The first run builds the kernel into ${XDG_CACHE_HOME:-$HOME/.cache}/kmodsig/kernel (minutes;
# installs missing Debian packages when root); later runs only boot. The verbose output ends
# with the table of variants: kmodsig's prediction and the kernel's real errno in both modes.
set -eu
cd "$(dirname "$0")/.."
KMODSIG_KERNEL_TEST=1 exec go test -v -count=1 -timeout 30m -run '^TestKernel$' "$@" ./kerneltest/
