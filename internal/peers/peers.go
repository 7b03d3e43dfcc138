// Package peers finds the independent tools (ORACLES.md) that tests check kmodsig against.
//
// A test that needs a peer calls Require; when the tool is missing the test is skipped with a
// message naming the Debian package that provides it, unless KMODSIG_REQUIRE_PEERS=1 (set by
// `make test` after it installed the peers as root, and so in CI), where a missing peer fails
// the test instead: a green CI run never hides a skipped oracle.
package peers

import (
	"os"
	"os/exec"
	"testing"
)

// SignFile is the reference signer of linux-kbuild-6.1.
const SignFile = "/usr/lib/linux-kbuild-6.1/scripts/sign-file"

// packages maps a tool to the Debian package that provides it.
var packages = map[string]string{
	"openssl":                   "openssl",
	"certtool":                  "gnutls-bin",
	"modinfo":                   "kmod",
	"gpg":                       "gnupg",
	"evmctl":                    "ima-evm-utils",
	"keyctl":                    "keyutils",
	"objcopy":                   "binutils",
	"readelf":                   "binutils",
	"ld":                        "binutils",
	"as":                        "binutils",
	"xz":                        "xz-utils",
	"zstd":                      "zstd",
	"gzip":                      "gzip",
	"softhsm2-util":             "softhsm2",
	"qemu-system-x86_64":        "qemu-system-x86",
	"busybox":                   "busybox-static",
	"powerpc-linux-gnu-gcc":     "gcc-powerpc-linux-gnu",
	"s390x-linux-gnu-gcc":       "gcc-s390x-linux-gnu",
	"i686-linux-gnu-gcc":        "gcc-i686-linux-gnu",
	"powerpc-linux-gnu-objcopy": "binutils-powerpc-linux-gnu",
	"s390x-linux-gnu-objcopy":   "binutils-s390x-linux-gnu",
	SignFile:                    "linux-kbuild-6.1",
}

// Required reports whether missing peers fail tests instead of skipping them.
func Required() bool { return os.Getenv("KMODSIG_REQUIRE_PEERS") == "1" }

// Require returns the path of tool, or skips (or, when Required, fails) the test with a
// message naming the package to install.
func Require(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	pkg := packages[tool]
	if pkg == "" {
		pkg = "(unknown package)"
	}
	if Required() {
		t.Fatalf("peer %s missing (Debian package %s) but KMODSIG_REQUIRE_PEERS=1", tool, pkg)
	}
	t.Skipf("peer %s missing: install Debian package %s (make test does this as root)", tool, pkg)
	return ""
}

// Run runs a peer command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
