package conv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// ErrNotRegular reports a path that is not a regular file where a module file is expected.
var ErrNotRegular = errors.New("not a regular file")

// File is an opened module file. For an uncompressed file the module is read through the
// open file (inspecting a trailer reads only the tail); a compressed file is decompressed
// into memory.
type File struct {
	Path        string
	Compression Compression
	Mode        os.FileMode
	ModTime     time.Time
	Module      formats.Module

	f    *os.File
	data []byte // decompressed bytes when compressed or after Bytes
}

// Open opens a module file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if st.Size() > formats.MaxModuleSize {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes", path, formats.ErrTooLarge, st.Size())
	}
	mf := &File{Path: path, Mode: st.Mode().Perm(), ModTime: st.ModTime()}
	head := make([]byte, 6)
	n, _ := f.ReadAt(head, 0)
	mf.Compression = Sniff(head[:n])
	if mf.Compression == None {
		mf.f = f
		mf.Module = formats.Module{Name: path, R: f, Size: st.Size()}
		return mf, nil
	}
	defer f.Close()
	raw := make([]byte, st.Size()) // exactly the file: no growing copies
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := Decompress(raw, mf.Compression)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mf.data = data
	mf.Module = formats.NewModule(path, data)
	return mf, nil
}

// Bytes returns the whole decompressed module.
func (mf *File) Bytes() ([]byte, error) {
	if mf.data == nil {
		b, err := mf.Module.Bytes()
		if err != nil {
			return nil, err
		}
		mf.data = b
	}
	return mf.data, nil
}

// Close releases the file.
func (mf *File) Close() error {
	if mf.f != nil {
		return mf.f.Close()
	}
	return nil
}

// WriteAtomic writes data to path through a temporary file in the same directory, fsyncs it,
// sets mode (and mtime when non-zero), renames it over path and fsyncs the directory, so a
// crash leaves either the old file or the complete new one, never a truncated module.
func WriteAtomic(path string, data []byte, mode os.FileMode, mtime time.Time) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".kmodsig-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if !mtime.IsZero() {
		if err = os.Chtimes(tmp.Name(), mtime, mtime); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
