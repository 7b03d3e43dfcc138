package conv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodsig/kmodsig/formats"
	"github.com/kmodsig/kmodsig/internal/peers"
	"github.com/kmodsig/kmodsig/keys"
)

const marker = "~Module signature appended~\n"

// compressedInput is one module of the compressed test tree.
type compressedInput struct {
	rel      string // path under the tree
	module   string // testdata/modules file
	signedAs string // source format ("" = unsigned)
}

var compressedTree = []compressedInput{
	{"kernel/drivers/a/hello.ko.xz", "hello.ko", ""},
	{"kernel/drivers/a/hello2.ko.zst", "hello2.ko", "pkcs7"},
	{"kernel/fs/b/hello.ko.gz", "hello.ko", "gpg2012"},
	{"kernel/fs/b/hello2.ko.xz", "hello2.ko", "x509"},
	{"extra/hello.ko.zst", "hello.ko", "digsig2012"},
	{"extra/hello2.ko", "hello2.ko", ""},
}

// compressTools are the real compressors, as kbuild and modules_install call them.
func compressTools(t *testing.T) map[Compression][]string {
	return map[Compression][]string{
		XZ:   {peers.Require(t, "xz"), "--check=crc32", "--lzma2=dict=1MiB", "-c"},
		Zstd: {peers.Require(t, "zstd"), "-q", "-c"},
		Gzip: {peers.Require(t, "gzip"), "-n", "-c"},
	}
}

func compressionOf(rel string) Compression {
	switch filepath.Ext(rel) {
	case ".xz":
		return XZ
	case ".zst":
		return Zstd
	case ".gz":
		return Gzip
	}
	return None
}

// toolOut runs a peer with stdin and returns stdout, failing the test on error.
func toolOut(t *testing.T, stdin []byte, argv ...string) []byte {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, stderr.Bytes())
	}
	return out
}

// realCompress compresses data with the real tool the way kbuild does, on a file (so that
// zstd records the content size in the frame header).
func realCompress(t *testing.T, tools map[Compression][]string, c Compression, data []byte) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.ko")
	writeFile(t, p, data)
	argv := append(append([]string(nil), tools[c]...), p)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return out
}

// makeCompressedTree writes compressedTree under dir: each module signed as listed (with the
// untrusted key, so the conversion has to replace it) and compressed by the real tool.
func makeCompressedTree(t *testing.T, dir string) map[string][]byte {
	tools := compressTools(t)
	old := loadKey(t, "untrusted-rsa2048.pem")
	unsigned := map[string][]byte{}
	for _, in := range compressedTree {
		b := readFile(t, filepath.Join(testdata, "modules", in.module))
		unsigned[in.rel] = b
		if in.signedAs != "" {
			res, err := Sign(in.module, b, in.signedAs, old, formats.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b = res.Signed
		}
		if c := compressionOf(in.rel); c != None {
			b = realCompress(t, tools, c, b)
		}
		writeFile(t, filepath.Join(dir, in.rel), b)
	}
	return unsigned
}

// checkConvertedTree checks every output of a pkcs7 conversion of the compressed tree with
// the real tools: same container (tested by the compressor itself), the signature inside the
// compressed stream, kmodsig verify, strip gives the original, modinfo reads every output
// and shows the new signer, xz -lvv shows a CRC32 check and a dictionary of at most 1 MiB.
func checkConvertedTree(t *testing.T, out string, unsigned map[string][]byte, k *keys.Material) {
	t.Helper()
	xz := peers.Require(t, "xz")
	modinfo := peers.Require(t, "modinfo")
	decompress := map[Compression][]string{
		XZ:   {xz, "-dc"},
		Zstd: {peers.Require(t, "zstd"), "-dcq"},
		Gzip: {peers.Require(t, "gzip"), "-dc"},
	}
	cert, err := k.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	wantSigner := cert.Issuer.CommonName
	wantKey := colonHex(cert.SerialNumber)
	var modinfoArgs []string
	for _, in := range compressedTree {
		p := filepath.Join(out, in.rel)
		raw := readFile(t, p)
		c := compressionOf(in.rel)
		if got := Sniff(raw); got != c {
			t.Errorf("%s: written as %q, want %q", in.rel, got, c)
		}
		mod := raw
		if c != None {
			mod = toolOut(t, raw, decompress[c]...)
			if bytes.HasSuffix(raw, []byte(marker)) {
				t.Errorf("%s: signature appended after the compressed stream", in.rel)
			}
		}
		if !bytes.HasSuffix(mod, []byte(marker)) {
			t.Errorf("%s: decompressed module does not end with the PKCS#7 marker", in.rel)
		}
		m := formats.NewModule(in.rel, mod)
		if v := Verify(m, SelfRing(k), formats.Policy{}, ""); v.Outcome != formats.OK || v.Format != "pkcs7" {
			t.Errorf("%s: kmodsig verify: %s %s: %s", in.rel, v.Format, v.Outcome, v.Reason)
		}
		if s, _, err := StripAll(m); err != nil || !bytes.Equal(s, unsigned[in.rel]) {
			t.Errorf("%s: strip does not give the original module back (%v)", in.rel, err)
		}
		switch c {
		case Gzip: // kmod 30 in Debian is built without zlib (modinfo --version: -ZLIB)
			if raw[3]&0x08 != 0 || !bytes.Equal(raw[4:8], []byte{0, 0, 0, 0}) {
				t.Errorf("%s: gzip header carries a name or a time (want gzip -n)", in.rel)
			}
			plain := p + ".decompressed.ko"
			writeFile(t, plain, mod)
			modinfoArgs = append(modinfoArgs, plain)
		case XZ:
			list := mustPeer(t, xz, "-lvv", p)
			if !regexp.MustCompile(`(?m)^\s*Check:\s+CRC32$`).MatchString(list) {
				t.Errorf("%s: xz -lvv does not report a CRC32 check:\n%s", in.rel, list)
			}
			dicts := regexp.MustCompile(`--lzma2=dict=(\d+)(KiB|MiB|B)`).FindAllStringSubmatch(list, -1)
			if len(dicts) == 0 {
				t.Errorf("%s: xz -lvv shows no LZMA2 dictionary:\n%s", in.rel, list)
			}
			for _, d := range dicts {
				n, _ := strconv.Atoi(d[1])
				n <<= map[string]int{"B": 0, "KiB": 10, "MiB": 20}[d[2]]
				if n > 1<<20 {
					t.Errorf("%s: xz dictionary %s%s exceeds 1 MiB", in.rel, d[1], d[2])
				}
			}
			modinfoArgs = append(modinfoArgs, p)
		default:
			modinfoArgs = append(modinfoArgs, p)
		}
	}
	// One modinfo process for the whole tree (ORACLES.md §3); it exits non-zero if it
	// cannot read any one of them.
	info := mustPeer(t, modinfo, modinfoArgs...)
	blocks := strings.Split(info, "filename:")[1:]
	if len(blocks) != len(modinfoArgs) {
		t.Fatalf("modinfo printed %d modules, want %d:\n%s", len(blocks), len(modinfoArgs), info)
	}
	for i, blk := range blocks {
		for _, want := range []string{"sig_id:         PKCS#7", "signer:         " + wantSigner, "sig_key:        " + wantKey, "sig_hashalgo:   sha256"} {
			if !strings.Contains(blk, want+"\n") {
				t.Errorf("%s: modinfo lacks %q:\n%s", modinfoArgs[i], want, blk)
			}
		}
	}
}

// colonHex formats a serial number the way modinfo prints sig_key.
func colonHex(n *big.Int) string {
	var parts []string
	for _, c := range n.Bytes() {
		parts = append(parts, fmt.Sprintf("%02X", c))
	}
	return strings.Join(parts, ":")
}

// TestConvertCompressedTree converts a tree of .ko.xz/.ko.zst/.ko.gz made by the real
// compressors through Convert and then through the CLI binary, and checks every output
// with xz, zstd, gzip and modinfo. Both runs must write the same bytes.
func TestConvertCompressedTree(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	unsigned := makeCompressedTree(t, src)
	before := map[string][]byte{}
	for _, in := range compressedTree {
		before[in.rel] = readFile(t, filepath.Join(src, in.rel))
	}
	k := loadKey(t, "rsa2048.pem")

	inputs, err := Walk([]string{src})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != len(compressedTree) {
		t.Fatalf("Walk found %d modules, want %d", len(inputs), len(compressedTree))
	}
	lib := filepath.Join(dir, "out-lib")
	rep := Convert(context.Background(), inputs, Options{To: "pkcs7", Key: k, OutDir: lib, Jobs: 2})
	if rep.Err() != nil || rep.Converted != len(compressedTree) {
		t.Fatalf("Convert: %+v", rep)
	}
	wantSrc := map[string]string{}
	for _, in := range compressedTree {
		wantSrc[filepath.Join(src, in.rel)] = map[bool]string{true: "none", false: in.signedAs}[in.signedAs == ""]
	}
	for _, f := range rep.Files {
		if f.SourceFormat != wantSrc[f.Path] {
			t.Errorf("%s: source format %q, want %q", f.Path, f.SourceFormat, wantSrc[f.Path])
		}
	}
	checkConvertedTree(t, lib, unsigned, k)

	cli := filepath.Join(dir, "out-cli")
	out, rc := peer(t, buildCLI(t), "convert", "--to", "pkcs7", "--key", filepath.Join(testdata, "keys", "rsa2048.pem"),
		"--out-dir", cli, "--report", filepath.Join(dir, "report.json"), src)
	if rc != 0 {
		t.Fatalf("kmodsig convert: exit %d\n%s", rc, out)
	}
	checkConvertedTree(t, cli, unsigned, k)
	for _, in := range compressedTree {
		if !bytes.Equal(readFile(t, filepath.Join(lib, in.rel)), readFile(t, filepath.Join(cli, in.rel))) {
			t.Errorf("%s: CLI and library outputs differ", in.rel)
		}
		if !bytes.Equal(readFile(t, filepath.Join(src, in.rel)), before[in.rel]) {
			t.Errorf("%s: input changed by an --out-dir conversion", in.rel)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Error(err)
	}
}

// TestDecompressSizeHint: the size each container records (zstd frame header, xz index,
// gzip ISIZE) is read right from files made by the real tools and by Compress, so Decompress
// allocates the module once; a lying record stays a bounded hint and the data still decides.
func TestDecompressSizeHint(t *testing.T) {
	tools := compressTools(t)
	mod := helloKO(t)
	for _, c := range []Compression{XZ, Zstd, Gzip} {
		ours, err := Compress(mod, c)
		if err != nil {
			t.Fatal(err)
		}
		theirs := realCompress(t, tools, c, mod)
		for name, b := range map[string][]byte{"Compress": ours, "tool": theirs} {
			if got := sizeHint(b, c); got != len(mod) {
				t.Errorf("%s %s: size hint %d, want %d", c, name, got, len(mod))
			}
			out, err := Decompress(b, c)
			if err != nil || !bytes.Equal(out, mod) {
				t.Errorf("%s %s: Decompress: %v", c, name, err)
			}
		}
	}
	// xz stream padding after the footer (allowed by the format) is skipped.
	padded := append(realCompress(t, tools, XZ, mod), 0, 0, 0, 0)
	if got := sizeHint(padded, XZ); got != len(mod) {
		t.Errorf("padded xz: size hint %d", got)
	}
	if out, err := Decompress(padded, XZ); err != nil || !bytes.Equal(out, mod) {
		t.Errorf("padded xz: %v", err)
	}
	// Two xz streams back to back (what `cat a.xz b.xz` gives): both are read.
	two := append(realCompress(t, tools, XZ, mod[:100]), padded...)
	if got := sizeHint(two, XZ); got != 100+len(mod) {
		t.Errorf("two xz streams: size hint %d, want %d", got, 100+len(mod))
	}
	if out, err := Decompress(two, XZ); err != nil || !bytes.Equal(out, append(bytes.Clone(mod[:100]), mod...)) {
		t.Errorf("two xz streams: %v", err)
	}
	// kbuild's dictionary, read back from the block header.
	ours, _ := Compress(mod, XZ)
	if _, dict, err := xzLayout(ours); err != nil || dict != 1<<20 {
		t.Errorf("Compress xz: dictionary %d (layout error %v), want 1 MiB", dict, err)
	}
	// A block header asking for a 4 GiB dictionary (valid CRC): refused before the reader
	// allocates it.
	huge := bytes.Clone(ours)
	if huge[12] != 2 || huge[14] != 0x21 || huge[15] != 1 {
		t.Fatalf("unexpected block header % x", huge[12:24])
	}
	huge[16] = 40
	binary.LittleEndian.PutUint32(huge[20:24], crc32.ChecksumIEEE(huge[12:20]))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Decompress(huge, XZ); !errors.Is(err, formats.ErrTooLarge) {
		t.Errorf("4 GiB xz dictionary: %v, want ErrTooLarge", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("refusing a 4 GiB dictionary allocated %d bytes", n)
	}
	// A gzip ISIZE claiming 4 GiB: the hint is capped, and the CRC/size check refuses it.
	gz := realCompress(t, tools, Gzip, mod)
	lie := bytes.Clone(gz)
	copy(lie[len(lie)-4:], []byte{0xff, 0xff, 0xff, 0xff})
	if got := sizeHint(lie, Gzip); got > len(lie)*maxRatio+64<<10 {
		t.Errorf("lying gzip ISIZE gives hint %d", got)
	}
	if _, err := Decompress(lie, Gzip); err == nil {
		t.Error("gzip with a wrong ISIZE accepted")
	}
	for _, c := range []Compression{XZ, Zstd, Gzip} {
		b := realCompress(t, tools, c, mod)
		if _, err := Decompress(b[:len(b)/2], c); err == nil {
			t.Errorf("%s: truncated stream accepted", c)
		}
	}
}

// TestDecompressErrorOffsets: a bad compressed module is refused with a *formats.FormatError
// that names the container and an offset in the compressed file: for bad data, how far the
// decoder had read, which is at or after the bad byte; for a bad xz layout, the field at
// fault.
func TestDecompressErrorOffsets(t *testing.T) {
	tools := compressTools(t)
	mod := helloKO(t)
	offset := func(t *testing.T, err error, c Compression) int64 {
		t.Helper()
		var fe *formats.FormatError
		if !errors.As(err, &fe) || fe.Format != string(c) || errors.Is(err, formats.ErrTooLarge) {
			t.Fatalf("error %v (%T), want a %s FormatError", err, err, c)
		}
		return fe.Off
	}
	for _, c := range []Compression{XZ, Zstd, Gzip} {
		b := realCompress(t, tools, c, mod)
		t.Run(string(c)+"/truncated", func(t *testing.T) {
			cut := b[:len(b)/2]
			_, err := Decompress(cut, c)
			off := offset(t, err, c)
			switch c {
			case XZ: // no footer where the end of the file is
				if off != int64(len(cut)-12) {
					t.Errorf("offset %d, want %d (the footer's place): %v", off, len(cut)-12, err)
				}
			default: // the decoder read to the end and wanted more
				if off != int64(len(cut)) {
					t.Errorf("offset %d, want %d (the end): %v", off, len(cut), err)
				}
			}
		})
		t.Run(string(c)+"/flipped", func(t *testing.T) {
			bad := bytes.Clone(b)
			p := len(bad) / 2
			bad[p] ^= 0x55
			_, err := Decompress(bad, c)
			if off := offset(t, err, c); off < int64(p) || off > int64(len(bad)) {
				t.Errorf("offset %d for a bad byte at %d in %d bytes: %v", off, p, len(bad), err)
			}
		})
	}
	// Open names the file in front of it: "PATH: gzip: offset N (0xN): ...".
	gz := realCompress(t, tools, Gzip, mod)
	path := filepath.Join(t.TempDir(), "m.ko.gz")
	writeFile(t, path, gz[:100])
	if _, err := Open(path); err == nil || !strings.HasPrefix(err.Error(), path+": gzip: offset 100 (0x64): ") {
		t.Errorf("Open of a truncated gzip module: %v", err)
	}
	b := realCompress(t, tools, XZ, mod)
	idx := len(b) - 12 - int(binary.LittleEndian.Uint32(b[len(b)-8:])+1)*4
	for _, tc := range []struct {
		name string
		at   int  // the byte changed
		to   byte // its new value
		want int  // the offset reported
	}{
		{"footer magic", len(b) - 1, 'X', len(b) - 12},
		{"index indicator", idx, 1, idx},
		{"stream header magic", 0, 0, 0},
		{"block header size byte", 12, 0, 12},
	} {
		t.Run("xz/"+tc.name, func(t *testing.T) {
			bad := bytes.Clone(b)
			bad[tc.at] = tc.to
			_, err := Decompress(bad, XZ)
			if off := offset(t, err, XZ); off != int64(tc.want) {
				t.Errorf("offset %d, want %d: %v", off, tc.want, err)
			}
		})
	}
}

// FuzzDecompress: no input makes Decompress or the size hints panic, and whatever is
// accepted stays within the module size limit.
func FuzzDecompress(f *testing.F) {
	mod, err := os.ReadFile(filepath.Join(testdata, "modules", "hello.ko"))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []Compression{XZ, Zstd, Gzip} {
		b, err := Compress(mod[:1024], c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-5])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Sniff(b)
		for _, h := range []Compression{XZ, Zstd, Gzip} {
			if n := sizeHint(b, h); n < 0 || n > len(b)*maxRatio+64<<10 {
				t.Fatalf("%s hint %d for %d bytes", h, n, len(b))
			}
		}
		out, err := Decompress(b, c)
		if err == nil && len(out) > formats.MaxModuleSize {
			t.Fatalf("%d bytes accepted", len(out))
		}
		// Every refusal names the container and an offset within the file (or none, -1).
		var fe *formats.FormatError
		if err != nil && (!errors.As(err, &fe) || fe.Format != string(c) || fe.Off < -1 || fe.Off > int64(len(b))) {
			t.Fatalf("error %v (%T) for %d bytes of %s", err, err, len(b), c)
		}
	})
}
