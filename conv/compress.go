package conv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/kmodsig/kmodsig/formats"
)

// Compression is the container a module file is stored in. The signature always lives inside
// the compressed stream: modules are signed first and compressed afterwards (kbuild, DKMS), and
// kmod and the kernel verify the decompressed bytes.
type Compression string

// The containers kmod and the kernel's module decompressor understand.
const (
	None Compression = ""
	XZ   Compression = "xz"
	Zstd Compression = "zstd"
	Gzip Compression = "gzip"
)

// Sniff returns the compression of b from its magic bytes, as kmod does:
// zstd 28 b5 2f fd, xz fd 37 7a 58 5a 00, gzip 1f 8b.
func Sniff(b []byte) Compression {
	switch {
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return XZ
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return Gzip
	}
	return None
}

// Decompress returns the module inside b, refusing output above formats.MaxModuleSize.
// The output buffer is sized from the container's own record of the uncompressed size (zstd
// frame header, xz index, gzip ISIZE) when it has one, so the module is not copied while
// growing; the record is only a hint, bounded by [maxRatio] times the input.
//
// Its errors are *formats.FormatError with the container as the format (Path empty: Open
// sets it) and an offset in b: where the xz stream's layout is wrong, or, for bad compressed
// data, how far the decoder had read when it failed (the data is bad at or before that
// offset: decoders read ahead). An error of size (formats.ErrTooLarge) has no offset.
func Decompress(b []byte, c Compression) ([]byte, error) {
	hint := sizeHint(b, c)
	tooLarge := func(msg string, args ...any) error {
		return &formats.FormatError{Format: string(c), Off: -1, Msg: fmt.Sprintf(msg, args...), Err: formats.ErrTooLarge}
	}
	// The decoders read b through in, whose position says how far they came (a
	// bytes.Reader, not a counting wrapper: the xz decoder reads byte by byte through
	// io.ByteReader when its input has it).
	in := bytes.NewReader(b)
	bad := func(err error) error {
		return &formats.FormatError{Format: string(c), Off: in.Size() - int64(in.Len()), Msg: "bad compressed data at or before this offset", Err: err}
	}
	var r io.Reader
	switch c {
	case None:
		return b, nil
	case XZ:
		_, dict, err := xzLayout(b)
		if err != nil {
			return nil, err
		}
		if dict > MaxXZDict {
			return nil, tooLarge("LZMA2 dictionary of %d bytes (at most %d)", dict, MaxXZDict)
		}
		// DictCap is a minimum (the reader's default is 8 MiB); each block's header sets
		// the real size, checked above.
		xr, err := xz.ReaderConfig{DictCap: 4096}.NewReader(in)
		if err != nil {
			return nil, bad(err)
		}
		r = xr
	case Zstd:
		dec, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		out, err := dec.DecodeAll(b, make([]byte, 0, hint))
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return nil, tooLarge("decompressed module larger than %d bytes", formats.MaxModuleSize)
			}
			// DecodeAll does not say where it failed: decode again as a stream, which
			// does (on this error path only).
			if zr, zerr := zstd.NewReader(in, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(formats.MaxModuleSize)); zerr == nil {
				io.Copy(io.Discard, io.LimitReader(zr, formats.MaxModuleSize+1))
				zr.Close()
			}
			return nil, bad(err)
		}
		if len(out) > formats.MaxModuleSize {
			return nil, tooLarge("decompressed module larger than %d bytes", formats.MaxModuleSize)
		}
		return out, nil
	case Gzip:
		gr, err := gzip.NewReader(in)
		if err != nil {
			return nil, bad(err)
		}
		r = gr
	default:
		return nil, fmt.Errorf("unknown compression %q", c)
	}
	out := bytes.NewBuffer(make([]byte, 0, hint+bytes.MinRead))
	n, err := out.ReadFrom(io.LimitReader(r, formats.MaxModuleSize+1))
	if err != nil {
		return nil, bad(err)
	}
	if n > formats.MaxModuleSize {
		return nil, tooLarge("decompressed module larger than %d bytes", formats.MaxModuleSize)
	}
	return out.Bytes(), nil
}

// maxRatio bounds a size hint read from a compressed file: at most maxRatio times the
// compressed size (deflate's limit is about 1032:1; real modules compress 3-5:1), so a
// lying header cannot make Decompress allocate much more than the file could hold.
const maxRatio = 1032

// sizeHint returns the uncompressed size b records for itself, bounded, or 0.
func sizeHint(b []byte, c Compression) int {
	var n uint64
	switch c {
	case Zstd:
		var h zstd.Header
		if h.Decode(b) == nil && h.HasFCS {
			n = h.FrameContentSize
		}
	case Gzip:
		if len(b) >= 18 {
			n = uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
		}
	case XZ:
		n, _, _ = xzLayout(b) // 0 when the layout is bad
	}
	if limit := uint64(len(b))*maxRatio + 64<<10; n > limit {
		n = limit
	}
	if n > formats.MaxModuleSize {
		n = formats.MaxModuleSize
	}
	return int(n)
}

// MaxXZDict is the largest LZMA2 dictionary Decompress accepts in a .ko.xz. The reader
// allocates the dictionary a block header asks for (up to 4 GiB) before decoding anything, so
// a few hundred crafted bytes could otherwise take gigabytes. `xz -9` uses 64 MiB; kbuild
// writes 1 MiB (`--lzma2=dict=1MiB`, what the kernel's decompressor accepts).
const MaxXZDict = 64 << 20

// xzLayout walks the streams of an xz file from its end (xz file format 1.0.4: stream
// header 12 bytes; blocks; index = 0x00, varint count, count × (varint unpadded size,
// varint uncompressed size), padding, CRC32; stream footer = CRC32, le32 backward size
// ((value+1)×4 = index size), flags, "YZ"; stream padding of zero bytes in multiples of
// 4 between and after streams) and reads every block header. It returns the uncompressed
// size the indexes record and the largest LZMA2 dictionary any block asks for, or, when the
// layout is inconsistent (the file is not valid xz), a *formats.FormatError with the offset
// of what is wrong. CRCs are left to the decoder.
func xzLayout(b []byte) (total, maxDict uint64, err error) {
	fail := func(off int, msg string, args ...any) error {
		return &formats.FormatError{Format: string(XZ), Off: int64(off), Msg: fmt.Sprintf(msg, args...)}
	}
	end := len(b)
	streams := 0
	for end > 0 {
		for end >= 4 && binary.LittleEndian.Uint32(b[end-4:end]) == 0 {
			end -= 4
		}
		if end == 0 {
			break
		}
		if end < 24 || string(b[end-2:end]) != "YZ" {
			return 0, 0, fail(max(end-12, 0), "no stream footer (12 bytes ending in \"YZ\") before byte %d", end)
		}
		isize := (uint64(binary.LittleEndian.Uint32(b[end-8:end-4])) + 1) * 4
		if isize > uint64(end-24) {
			return 0, 0, fail(end-8, "index of %d bytes does not fit before the stream footer", isize)
		}
		idxStart := end - 12 - int(isize)
		idx := b[idxStart : end-12]
		if idx[0] != 0 {
			return 0, 0, fail(idxStart, "index indicator %#02x, not 0", idx[0])
		}
		q := 1
		uvarint := func() (uint64, bool) {
			v, k := binary.Uvarint(idx[q:])
			if k <= 0 {
				return 0, false
			}
			q += k
			return v, true
		}
		count, okc := uvarint()
		if !okc || count > uint64(len(idx)) {
			return 0, 0, fail(idxStart+1, "bad index record count")
		}
		unpadded := make([]uint64, count)
		var blocks uint64
		for i := range unpadded {
			at := idxStart + q
			u, ok1 := uvarint()
			n, ok2 := uvarint()
			if !ok1 || !ok2 || u > uint64(len(b)) {
				return 0, 0, fail(at, "bad index record %d", i)
			}
			unpadded[i] = u
			blocks += (u + 3) &^ 3
			if total += n; total > formats.MaxModuleSize {
				total = formats.MaxModuleSize + 1
			}
		}
		if blocks+12 > uint64(idxStart) {
			return 0, 0, fail(idxStart, "the index's %d bytes of blocks and a stream header do not fit before it", blocks)
		}
		start := idxStart - int(blocks) - 12
		if string(b[start:start+6]) != "\xfd7zXZ\x00" {
			return 0, 0, fail(start, "no stream header where the index puts it")
		}
		p := start + 12
		for i, u := range unpadded {
			d, okb := xzBlockDict(b[p:idxStart])
			if !okb {
				return 0, 0, fail(p, "bad header of block %d", i)
			}
			maxDict = max(maxDict, d)
			p += int((u + 3) &^ 3)
		}
		end = start
		streams++
	}
	if streams == 0 {
		return 0, 0, fail(0, "no xz stream, only %d bytes of zeros", len(b))
	}
	return total, maxDict, nil
}

// xzBlockDict reads a block header at the start of b and returns its LZMA2 dictionary size
// (0 when the block has no LZMA2 filter).
func xzBlockDict(b []byte) (uint64, bool) {
	if len(b) < 2 || b[0] == 0 {
		return 0, false
	}
	size := (int(b[0]) + 1) * 4
	if size > len(b) {
		return 0, false
	}
	h := b[:size-4] // without the header CRC32
	flags := h[1]
	if flags&0x3c != 0 {
		return 0, false
	}
	q := 2
	uvarint := func() (uint64, bool) {
		if q >= len(h) {
			return 0, false
		}
		v, k := binary.Uvarint(h[q:])
		if k <= 0 {
			return 0, false
		}
		q += k
		return v, true
	}
	for _, bit := range []byte{0x40, 0x80} { // compressed, uncompressed size
		if flags&bit != 0 {
			if _, ok := uvarint(); !ok {
				return 0, false
			}
		}
	}
	var dict uint64
	for i := 0; i < int(flags&3)+1; i++ {
		id, ok1 := uvarint()
		n, ok2 := uvarint()
		if !ok1 || !ok2 || n > uint64(len(h)-q) {
			return 0, false
		}
		props := h[q : q+int(n)]
		q += int(n)
		if id == 0x21 { // LZMA2: one byte, dictionary size code 0..40
			if len(props) != 1 || props[0]&0x3f > 40 {
				return 0, false
			}
			c := uint64(props[0] & 0x3f)
			if c == 40 {
				dict = 0xffffffff
			} else {
				dict = (2 | c&1) << (c/2 + 11)
			}
		}
	}
	return dict, true
}

// The zstd coders are safe for concurrent DecodeAll/EncodeAll and keep their (large) state
// between modules, so they are made once per process.
var (
	zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(formats.MaxModuleSize))
	})
	zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithEncoderLevel(zstd.SpeedDefault))
	})
)

// Compress stores b in container c the way kbuild writes it: xz with a CRC32 check and a
// 1 MiB LZMA2 dictionary (`xz --check=crc32 --lzma2=dict=1MiB`, what the kernel's in-kernel
// decompressor accepts), zstd at the default level (one frame recording its content size, as
// `zstd` writes for a file), gzip without name or time (`gzip -n`). The result is
// deterministic for the same input.
func Compress(b []byte, c Compression) ([]byte, error) {
	if c == None {
		return b, nil
	}
	out := bytes.NewBuffer(make([]byte, 0, len(b)/3+4096))
	var w io.WriteCloser
	var err error
	switch c {
	case XZ:
		w, err = xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 1 << 20}.NewWriter(out)
	case Zstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(b, out.Bytes()), nil
	case Gzip:
		var gw *gzip.Writer
		gw, err = gzip.NewWriterLevel(out, gzip.BestCompression)
		if err == nil {
			// gzip -n: MTIME 0 and no name. klauspost/compress writes the zero time.Time's
			// Unix seconds truncated to 32 bits unless a time is set; OS 3 (Unix) like gzip.
			gw.ModTime = time.Unix(0, 0)
			gw.OS = 3
		}
		w = gw
	default:
		return nil, fmt.Errorf("unknown compression %q", c)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// OutputCompression returns the container for a module written to a file named name that
// was read from a file in container in: the one the name's suffix says (".xz", ".zst",
// ".gz", or none for ".ko"), so that `-o mod.ko.zst` gives a zstd file and `-o mod.ko` a
// plain one whatever the input was; for any other name, in. kmod and the kernel go by the
// magic bytes, not the name, but depmod, kbuild's install and people go by the name. An
// in-place or mirrored output has the input's name, and keeps its container whatever the
// name says (a file is never recompressed differently where it is).
func OutputCompression(name string, in Compression) Compression {
	for _, c := range []Compression{XZ, Zstd, Gzip} {
		if strings.HasSuffix(name, c.Ext()) {
			return c
		}
	}
	if strings.HasSuffix(name, ".ko") {
		return None
	}
	return in
}

// Ext returns the file-name suffix of c (".xz", ".zst", ".gz" or "").
func (c Compression) Ext() string {
	switch c {
	case XZ:
		return ".xz"
	case Zstd:
		return ".zst"
	case Gzip:
		return ".gz"
	}
	return ""
}
