package conv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kmodsig/kmodsig/formats"
)

// ErrNotRegular reports a path that is not a regular file where a module file is expected.
// It is formats.ErrNotRegular, which digsig's IMA files report too.
var ErrNotRegular = formats.ErrNotRegular

// File is an opened module file. For an uncompressed file the module is read through the
// open file (inspecting a trailer reads only the tail); a compressed file is decompressed
// into memory.
type File struct {
	Path        string
	Compression Compression
	Mode        os.FileMode
	ModTime     time.Time
	Module      formats.Module

	f    readCloserAt
	data []byte // decompressed bytes when compressed
}

// Open opens a module file.
func Open(path string) (*File, error) {
	f, st, err := openRead(path)
	if err != nil {
		return nil, dangling(path, err)
	}
	if !st.regular {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	if st.size > formats.MaxModuleSize {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes, over the %d (1 GiB) kmodsig reads as a module", path, formats.ErrTooLarge, st.size, formats.MaxModuleSize)
	}
	mf := &File{Path: path, Mode: st.perm, ModTime: st.mtime}
	r, err := newWindowedReader(f, st.size)
	if err != nil {
		f.Close()
		return nil, err
	}
	mf.Compression = Sniff(r.head)
	if mf.Compression == None {
		mf.f = f
		mf.Module = formats.Module{Name: path, R: r, Size: st.size}
		return mf, nil
	}
	defer f.Close()
	r.release()
	raw := make([]byte, st.size) // exactly the file: no growing copies
	if _, err := f.ReadAt(raw, 0); err != nil && !(err == io.EOF && len(raw) == 0) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := decompressFile(path, raw, mf.Compression)
	if err != nil {
		return nil, err
	}
	mf.data = data
	mf.Module = formats.NewModule(path, data)
	return mf, nil
}

// OpenReader reads a whole module from r, compressed or not, as Open reads a file, naming it
// name in errors and in the Module (`kmodsig inspect -` reads standard input, named "-"). It
// reads at most formats.MaxModuleSize bytes: more is formats.ErrTooLarge. The File has no
// mode or modification time.
func OpenReader(name string, r io.Reader) (*File, error) {
	raw, err := io.ReadAll(io.LimitReader(r, formats.MaxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(raw) > formats.MaxModuleSize {
		return nil, fmt.Errorf("%s: %w: over the %d (1 GiB) kmodsig reads as a module", name, formats.ErrTooLarge, formats.MaxModuleSize)
	}
	mf := &File{Path: name, Compression: Sniff(raw)}
	data := raw
	if mf.Compression != None {
		if data, err = decompressFile(name, raw, mf.Compression); err != nil {
			return nil, err
		}
		mf.data = data
	}
	mf.Module = formats.NewModule(name, data)
	return mf, nil
}

// decompressFile is Decompress with its error naming the file: a FormatError gets the path,
// anything else is prefixed with it.
func decompressFile(path string, raw []byte, c Compression) ([]byte, error) {
	data, err := Decompress(raw, c)
	if err != nil {
		if fe := (*formats.FormatError)(nil); errors.As(err, &fe) && fe.Path == "" {
			fe.Path = path
			return nil, fe
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// readCloserAt is an open file as Open uses it.
type readCloserAt interface {
	io.ReaderAt
	io.Closer
}

// fileStat is what Open needs of a file's metadata.
type fileStat struct {
	size    int64
	perm    os.FileMode
	mtime   time.Time
	regular bool
}

// Bytes returns the whole decompressed module. For an uncompressed file it is a new buffer the
// caller owns (a batch gives it back to the module buffer pool when done with it), read with
// signatureRoom bytes of spare capacity so that a batch can append the signature without
// copying the module; for a compressed file it is the decompressed bytes, which the File's
// Module reads too.
func (mf *File) Bytes() ([]byte, error) {
	if mf.data != nil {
		return mf.data, nil
	}
	b := getBuf(int(mf.Module.Size), signatureRoom)
	if _, err := mf.Module.R.ReadAt(b, 0); err != nil && !(err == io.EOF && len(b) == 0) {
		putBuf(b)
		return nil, &formats.FormatError{Path: mf.Path, Off: 0, Msg: "read failed", Err: err}
	}
	return b, nil
}

// Close releases the file. The Module must not be used after Close: its windows are
// reused by the next Open.
func (mf *File) Close() error {
	if w, ok := mf.Module.R.(*windowedReader); ok {
		w.release()
	}
	if mf.f != nil {
		return mf.f.Close()
	}
	return nil
}

// WriteAtomic writes data to path through a temporary file in the same directory, fsyncs it,
// sets mode (and mtime when non-zero), renames it over path and fsyncs the directory, so a
// crash leaves either the old file or the complete new one, never a truncated module.
func WriteAtomic(path string, data []byte, mode os.FileMode, mtime time.Time) error {
	t, err := stageTemp(path, data, mode, mtime, true)
	if err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// ErrIsDirectory is returned by Destination for an output path that is a directory.
var ErrIsDirectory = errors.New("is a directory")

// Destination returns the file that writing a module to path replaces: path itself, or, when
// path is a symbolic link, the file it names, so that a module reached through a link (a
// distribution's weak-updates tree is links to modules elsewhere) is converted where it is
// and the link keeps pointing at it, as `sed -i --follow-symlinks` and `cp` do; renaming over
// the link would have replaced it with a converted copy and left the module itself as it
// was. A path that is a directory (or a link to one) is refused with ErrIsDirectory, before
// any work, rather than failing at the rename. A path that does not exist yet is returned as
// it is.
func Destination(path string) (string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		return "", err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			if d := (*danglingError)(nil); errors.As(dangling(path, err), &d) {
				// As cp: a link to nothing is not written through (where it points may
				// be a file the link was never meant to create).
				return "", fmt.Errorf("not writing through %w", d)
			}
			return "", fmt.Errorf("%s: following the link: %w", path, err)
		}
		if st, err = os.Stat(real); err != nil {
			return "", err
		}
		path = real
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s: %w", path, ErrIsDirectory)
	}
	return path, nil
}

// tempFile is a complete temporary file beside path, waiting to be renamed over it.
type tempFile struct {
	name, path string
	dev        uint64 // the filesystem it is on (Linux; 0 elsewhere): what syncfs flushes
	links      uint64 // the link count of the file it replaces (Linux; 0 elsewhere)
}

// stageTemp writes data to a new temporary file beside path (".NAME.kmodsig-PID-*"), gives it
// the owner of the file it replaces where it can (keepOwner), sets mode and mtime, and fsyncs
// it when fsync is set. A batch stages files without fsync and makes a
// whole group durable at once before renaming any of them (groupCommit).
func stageTemp(path string, data []byte, mode os.FileMode, mtime time.Time, fsync bool) (t tempFile, err error) {
	// Errors name the file being written: the temporary file's own name says little.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".kmodsig-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		if dir := filepath.Dir(path); errors.Is(err, fs.ErrNotExist) {
			// The temporary file's name would only confuse: say which directory is missing.
			return t, fmt.Errorf("writing %s: %w", path, &fs.PathError{Op: "directory", Path: dir, Err: syscall.ENOENT})
		}
		return t, fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			// "write .m.ko.kmodsig-123-456: no space left on device" names a file that is
			// gone: keep the cause (errors.Is still finds it), not the temporary name.
			if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == tmp.Name() {
				err = pe.Err
			}
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return t, err
	}
	links := keepOwner(tmp, path)
	if err = tmp.Chmod(mode); err != nil {
		return t, err
	}
	if fsync {
		if err = tmp.Sync(); err != nil {
			return t, err
		}
	}
	dev := fileDev(tmp)
	if err = tmp.Close(); err != nil {
		return t, err
	}
	if !mtime.IsZero() {
		if err = os.Chtimes(tmp.Name(), mtime, mtime); err != nil {
			return t, err
		}
	}
	return tempFile{name: tmp.Name(), path: path, dev: dev, links: links}, nil
}

// commit renames the temporary file over its path; on failure it removes it.
func (t tempFile) commit() error {
	if err := os.Rename(t.name, t.path); err != nil {
		os.Remove(t.name)
		return fmt.Errorf("writing %s: %w", t.path, err)
	}
	return nil
}

// notDurable reports that renames are done but could not be made durable: a crash could still
// bring back the old files.
func notDurable(err error) error { return fmt.Errorf("renamed, but not made durable: %w", err) }

// syncDir fsyncs a directory so that renames in it survive a crash. A filesystem that
// cannot fsync a directory (EINVAL: some network and FUSE filesystems) makes renames durable
// by itself or not at all, so that is not an error; any other failure is: the rename is done
// but may not survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return notDurable(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return notDurable(err)
	}
	return nil
}

// Windows of an uncompressed module kept in memory by Open: detection, parsing and the ELF
// drivers' header reads all fall in the first HeadWindow or the last TailWindow bytes (the
// trailer, the CMS, the section header table and names), so inspecting a module costs two
// reads, however many drivers look at it. A module up to SmallModule bytes is read whole.
const (
	HeadWindow  = 4 << 10
	TailWindow  = 16 << 10
	SmallModule = 16 << 10
)

// windowedReader serves ReadAt from the head and tail windows when it can, else from the file.
type windowedReader struct {
	f          io.ReaderAt
	size       int64
	head, tail []byte
	tailOff    int64
	buf        *[]byte // the pooled buffer holding both windows; nil once released
}

// windowPool recycles the windows: inspecting a tree opens thousands of modules, and a
// fresh 20 KiB per module made the allocator and the garbage collector a third of the work.
var windowPool = sync.Pool{New: func() any {
	b := make([]byte, HeadWindow+TailWindow)
	return &b
}}

func newWindowedReader(f io.ReaderAt, size int64) (*windowedReader, error) {
	w := &windowedReader{f: f, size: size, buf: windowPool.Get().(*[]byte)}
	b := *w.buf
	if size <= SmallModule {
		w.head = b[:size:size]
		if _, err := f.ReadAt(w.head, 0); err != nil && err != io.EOF {
			w.release()
			return nil, err
		}
		return w, nil
	}
	w.head = b[:HeadWindow:HeadWindow]
	if _, err := f.ReadAt(w.head, 0); err != nil && err != io.EOF {
		w.release()
		return nil, err
	}
	w.tailOff = size - TailWindow
	w.tail = b[HeadWindow:]
	if _, err := f.ReadAt(w.tail, w.tailOff); err != nil && err != io.EOF {
		w.release()
		return nil, err
	}
	return w, nil
}

// release returns the windows to the pool; later reads go to the (closed) file and fail.
// ReadAt copies out of the windows, so nothing a driver parsed aliases them.
func (w *windowedReader) release() {
	if w.buf == nil {
		return
	}
	w.head, w.tail = nil, nil
	w.tailOff = w.size // no window: every read goes to the file
	windowPool.Put(w.buf)
	w.buf = nil
}

func (w *windowedReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= w.size {
		return 0, io.EOF
	}
	end := off + int64(len(p))
	var n int
	switch {
	case int64(len(w.head)) == w.size || end <= int64(len(w.head)):
		n = copy(p, w.head[off:])
	case w.tail != nil && off >= w.tailOff:
		n = copy(p, w.tail[off-w.tailOff:])
	default:
		return w.f.ReadAt(p, off)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
