// Package conv works on module files: it opens them (compressed or not), finds every
// signature layer, signs, strips, verifies, and converts single modules and whole trees from
// any format to any other with one key.
//
// # Files
//
// [Open] sniffs the container by its magic (xz, zstd, gzip, or none, as kmod does) and
// decompresses it: signatures live inside the compressed stream. An uncompressed module is read
// through two windows kept in memory (its head and its tail), so inspecting a module whose
// signature is appended costs two reads. [Compress] writes the container back the way kbuild
// does (xz with CRC32 and a 1 MiB dictionary, which the kernel's decompressor requires; zstd;
// gzip -n). [WriteAtomic] replaces a file only by renaming a complete, fsynced temporary file
// in the same directory, keeping its mode.
//
// # One module
//
// [Layers] lists every signature of a module, outermost first (sign-file stacks a second
// trailer on a signed module; a RHEL6 note can sit inside a later PKCS#7 trailer). [StripAll]
// removes them all. [Sign] strips first, so signing replaces a signature instead of stacking
// one, and verifies its own output with the format's verifier before returning it. [Verify]
// models a kernel: the era of the signature by default, or the one Policy.Kernel names, which
// reads only its own era's signatures ([UnsignedJudge]).
//
// # Batches
//
// [Convert] re-signs a list of inputs ([Walk] expands directories) on one worker per core
// ([Workers]), each writing its own temporary files (on goroutines of their own where every
// file is fsynced); memory is bounded by module bytes in flight, so the largest module is
// converted alone. Every file is converted independently and atomically, with a group commit:
// complete temporary files are made durable together (one syncfs per filesystem on Linux, an
// fsync per file elsewhere or with Options.FsyncEach) before any of them is renamed into
// place; then their pages leave the page cache (a batch reads none of what it wrote back).
// An interrupted run leaves each module either untouched or completely converted, and
// Options.Resume skips what a previous run finished. [WalkEach] overlaps walking a tree with
// the work on it (inspect, verify). The [Report] is also the JSON of `kmodsig convert
// --report`.
package conv
