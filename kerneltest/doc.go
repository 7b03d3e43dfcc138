// Package kerneltest boots a real Linux 6.1 kernel in qemu and checks that it accepts and
// rejects kmodsig's output exactly as `kmodsig verify` predicts. The kernel is the only oracle
// for module-signature policy: which errno init_module returns in permissive and in enforcing
// mode (ORACLES.md section 8, FORMATS.md `pkcs7` "What the kernel accepts and rejects").
//
// # What it does
//
// TestKernel (kernel_test.go, run when KMODSIG_KERNEL_TEST=1; `make test` sets it as root):
//
//  1. build-kernel.sh installs linux-source-6.1, qemu-system-x86, busybox-static and the kernel
//     build dependencies with apt-get when they are missing (root only), then builds a
//     tinyconfig x86-64 kernel with MODULES, MODULE_SIG (not forced, not signing its own
//     modules), RSA and ECDSA, SHA-1 to SHA-512, testdata/keys/rsa2048.pem as
//     CONFIG_MODULE_SIG_KEY and trusted.crt (RSA-4096, ECDSA P-256, ECDSA P-384) plus
//     expired-rsa2048.crt as CONFIG_SYSTEM_TRUSTED_KEYS. The expired certificate is trusted on
//     purpose: it checks that the kernel ignores X.509 validity dates for module signatures.
//  2. The build is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/kmodsig/kernel/<linux-source
//     version>-<key>/ ($KMODSIG_CACHE/kernel/... when set), where <key> is the first 16 hex
//     digits of the SHA-256 over the config inputs: the kconfig file (the options applied on top
//     of tinyconfig), the gcc version, each key file's name and content, and a cache-layout
//     number. The entry holds bzImage, the built tree, the final .config, the build log and a
//     stamp; it is built in a temporary directory and renamed into place under a lock, so a
//     second run only boots.
//  3. The test module (module/kmodsig_hello.c, our own source) is built against the cached tree.
//  4. The kmodsig CLI (never sign-file) makes the variants: each trusted key and hash,
//     issuer+serial and SKID, unsigned, untrusted key, expired certificate, tampered payload and
//     signature, corrupt trailers, the 3.7 `x509` format, older formats and converted modules
//     where the CLI supports them, and objects that are not relocatable ELF, signed and not.
//  5. The committed vectors join them (vectors_test.go): every test of the
//     testdata/vectors/manifest.json groups whose kernel model is linux-6.1 (the pkcs7 groups
//     and the x509 group fed to 6.1), as /mods/v<tcId>-<format>-<file>.ko, 33 at present.
//  6. One initramfs (usr/gen_init_cpio, busybox, init.sh) boots twice under TCG: permissive and
//     with module.sig_enforce=1. init.sh insmods every module and prints one RESULT line each
//     (busybox insmod's exit status is the errno), the kernel messages, and powers off.
//     [ParseSerial] reads the log. busybox insmod tries finit_module and, when it fails, loads
//     the file again with init_module, so every refused module's kernel messages appear twice.
//  7. Each variant's real errno in both modes is compared with `kmodsig verify --json` over the
//     certificates built into the kernel; a mismatch fails with the variant, the expected and
//     real results and the console lines. The module's own taint flags add one more check: a
//     module the kernel loaded with taint E ("unsigned") must have a non-ok outcome.
//  8. Each committed vector's real errno is compared with the manifest's permissive and
//     enforcing errno (and kmodsig's verdict with the kernel's certificates must equal the
//     manifest's, else the vector is skipped with a reason: the extra trusted keys would change
//     the answer). A group is compared only when every keyring file is byte for byte one of the
//     certificates built into the kernel and the kernel logged loading it ("Loaded X.509 cert"
//     with its SKID); other groups are logged as skipped. The vectors' module,
//     testdata/modules/hello.ko, was built for Debian's 6.1.0-56-amd64 (vermagic "6.1.0-56-amd64
//     SMP preempt mod_unload modversions"), not for this kernel ("6.1.192 mod_unload"). Linux
//     6.1's load_module (kernel/module/main.c) calls module_sig_check first, then
//     elf_validity_check, setup_load_info and layout_and_allocate, whose check_modinfo refuses
//     the vermagic with ENOEXEC and "hello: version magic '...' should be '...'". So a manifest
//     OK must come back as ENOEXEC with that message (the signature check passed, or, when
//     permissive, was forgiven), and every other errno must match exactly, without that
//     message. Enforcing, a vector the manifest forgives when permissive must print
//     module_sig_check's notice for its outcome ("Loading of unsigned module is rejected",
//     "... module with unavailable key ...", "... module with unsupported crypto ..."), and no
//     other vector may print one. The log ends with a table: vector, manifest outcome and
//     errnos, kmodsig's errnos, the kernel's errnos. TestVectorsRealLogs runs the same check
//     over the committed logs without qemu and proves it fails on altered results.
//
// # Running it
//
// kerneltest/run.sh runs TestKernel by hand (go test -v -run '^TestKernel$' with
// KMODSIG_KERNEL_TEST=1 and a 30-minute timeout); `make test` runs it as root. Without
// KMODSIG_KERNEL_TEST=1, or when the packages are missing and cannot be installed (not root,
// or KMODSIG_NO_APT=1), the test skips with one line saying why. KMODSIG_KERNEL_OUT=DIR keeps
// the variants, kmodsig's predictions (predictions.json), the initramfs list and both serial
// logs in DIR. A cold run extracts and builds the kernel: about 7 CPU-minutes, measured at
// 6 min 17 s wall on two cores shared with other jobs (load 5 to 8) and 15 min under load 12;
// a warm run takes about 10 to 15 seconds, two TCG boots of 5 to 7 seconds wall each
// included (41 variants and 33 vectors per boot). Each cache entry holds a 1.5 GB tree: building
// a new one (other keys or kconfig) removes the entries not used for KMODSIG_KERNEL_KEEP_DAYS
// days (default 14).
//
// # What Linux 6.1 does (observed with this harness, 6.1.192-2)
//
// Loaded with no taint besides O (permissive and enforcing): pkcs7 with RSA-2048/4096 or ECDSA
// P-256/P-384, SHA-1/224/256/384/512, issuer+serial or SKID, re-signed and converted modules,
// and a certificate that expired in 2001: the kernel loads the expired certificate into the
// builtin keyring at boot and never checks validity dates. Taint E when permissive and
// EKEYREJECTED when enforcing: unsigned, untrusted key, a broken marker, id_type 1 (the 3.7
// x509 format, or a CMS in an id_type 1 block), and every pre-4.3 format (gpg2012, digsig2012,
// rhel5, rhel6, gkh2004), whose signatures the kernel does not see. EKEYREJECTED in both modes:
// a payload or signature byte flipped (RSA and ECDSA). EBADMSG in both modes: sig_len off by one
// either way or far too large, a non-zero hash byte in the trailer, the outer CMS tag changed.
// ENOEXEC, without taint, for what is not a relocatable ELF object (e_type ET_EXEC, the ELF
// magic broken): when signed and valid in both modes, when unsigned permissive (enforcing
// refuses it first, EKEYREJECTED): the signature check comes first, the ELF checks after it
// (formats.ELFHeaderRefusal, which conv.Verify applies).
//
// The committed linux-6.1 vectors agree with the manifest in both modes (33 of 33, 6.1.192-2):
// every "ok" one (sign-file profile with each key and hash, SKID, embedded certificate, signed
// twice, the expired certificate) passes module_sig_check even when enforcing; unsigned,
// untrusted key, SHA3-256 ("Unsupported digest algo"), sha256WithRSAEncryption and RSASSA-PSS
// ("Unsupported pkey algo"), a CMS or a 3.7 x509 signature in an id_type 1 block ("not signed
// with expected PKCS#7 message") are forgiven when permissive and EKEYREJECTED when enforcing;
// signed attributes ("Invalid module sig (has authattrs)") and tampered payload or signature
// give EKEYREJECTED, attached content ("PKCS#7 signature with non-detached data"), the outer
// tag, sig_len and the hash byte EBADMSG, in both modes. The NotRelocatableELF vectors (e_type
// ET_EXEC or the magic broken, signed: ENOEXEC in both modes; unsigned: ENOEXEC permissive,
// EKEYREJECTED enforcing) print elf_validity_check's "Invalid ELF header ..." and no vermagic
// message, which is how a manifest ENOEXEC is told from a manifest OK here.
//
// [ParseSerial] reads the guest's log; testdata/serial-*.log are two real boots.
package kerneltest
