package conv

import (
	"bytes"
	"fmt"
	"io"
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
func Decompress(b []byte, c Compression) ([]byte, error) {
	var r io.Reader
	switch c {
	case None:
		return b, nil
	case XZ:
		xr, err := xz.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = xr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(formats.MaxModuleSize))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	case Gzip:
		gr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = gr
	default:
		return nil, fmt.Errorf("unknown compression %q", c)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, formats.MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if n > formats.MaxModuleSize {
		return nil, fmt.Errorf("%s: %w: decompressed module larger than %d bytes", c, formats.ErrTooLarge, formats.MaxModuleSize)
	}
	return out.Bytes(), nil
}

// Compress stores b in container c the way kbuild writes it: xz with a CRC32 check and a
// 1 MiB LZMA2 dictionary (`xz --check=crc32 --lzma2=dict=1MiB`, what the kernel's in-kernel
// decompressor accepts), zstd at the default level (`zstd -T0`), gzip without name or time
// (`gzip -n`). The result is deterministic for the same input.
func Compress(b []byte, c Compression) ([]byte, error) {
	var out bytes.Buffer
	var w io.WriteCloser
	var err error
	switch c {
	case None:
		return b, nil
	case XZ:
		w, err = xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 1 << 20}.NewWriter(&out)
	case Zstd:
		w, err = zstd.NewWriter(&out, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	case Gzip:
		var gw *gzip.Writer
		gw, err = gzip.NewWriterLevel(&out, gzip.BestCompression)
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
