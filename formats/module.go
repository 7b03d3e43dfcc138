package formats

import (
	"bytes"
	"fmt"
	"io"
)

// Module is a kernel module's bytes, already decompressed, read through an io.ReaderAt so
// that drivers which find their signature at the end read only the tail. Name is used in
// error messages.
type Module struct {
	Name string
	R    io.ReaderAt
	Size int64
	// Digests, when set, answers digests of in-memory bytes already hashed (see DigestMemo).
	Digests *DigestMemo

	data []byte // the bytes, when the module is in memory (NewModule)
}

// NewModule returns a Module over b.
func NewModule(name string, b []byte) Module {
	return Module{Name: name, R: bytes.NewReader(b), Size: int64(len(b)), data: b}
}

// InMemory returns the module's bytes when it is held in memory (NewModule), else nil.
func (m Module) InMemory() []byte { return m.data }

// ReadAt reads exactly n bytes at off, or returns a *FormatError naming the format.
func (m Module) ReadAt(format string, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > m.Size || n > m.Size-off {
		return nil, &FormatError{Path: m.Name, Format: format, Off: off,
			Msg: fmt.Sprintf("%d bytes needed at offset %d, file has %d", n, off, m.Size)}
	}
	if n > MaxModuleSize {
		return nil, &FormatError{Path: m.Name, Format: format, Off: off, Msg: "read too large", Err: ErrTooLarge}
	}
	b := make([]byte, n)
	if _, err := m.R.ReadAt(b, off); err != nil && !(err == io.EOF && off+n == m.Size) {
		return nil, &FormatError{Path: m.Name, Format: format, Off: off, Msg: "read failed", Err: err}
	}
	return b, nil
}

// Tail returns the last n bytes, or nil if the module is shorter than n.
func (m Module) Tail(n int64) []byte {
	if n > m.Size {
		return nil
	}
	b, err := m.ReadAt("", m.Size-n, n)
	if err != nil {
		return nil
	}
	return b
}

// Bytes reads the whole module. Drivers that need the ELF image (the section formats) use it;
// appended-trailer drivers use Section readers and Tail instead.
func (m Module) Bytes() ([]byte, error) {
	if br, ok := m.R.(*bytes.Reader); ok && br.Size() == m.Size {
		b := make([]byte, m.Size)
		_, err := br.ReadAt(b, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		return b, nil
	}
	return m.ReadAt("", 0, m.Size)
}

// Prefix returns the module limited to its first n bytes (for example the payload before
// an appended signature) without copying.
func (m Module) Prefix(n int64) Module {
	if n > m.Size {
		n = m.Size
	}
	p := Module{Name: m.Name, R: m.R, Size: n, Digests: m.Digests}
	if m.data != nil {
		p.data = m.data[:n]
	}
	return p
}

// Reader streams bytes [off, off+n) of the module.
func (m Module) Reader(off, n int64) io.Reader { return io.NewSectionReader(m.R, off, n) }
