//go:build !linux

package conv

import (
	"io"
	"os"
)

// openRead opens path for reading and returns its size, permission bits, mtime and whether it
// is a regular file. What is not a regular file is not opened (a FIFO would block the open
// until a writer came): it gets a descriptor of nothing, which Open closes and refuses.
func openRead(path string) (readCloserAt, fileStat, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nothing{}, fileStat{perm: st.Mode().Perm(), mtime: st.ModTime()}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStat{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileStat{}, err
	}
	return f, fileStat{size: st.Size(), perm: st.Mode().Perm(), mtime: st.ModTime(), regular: st.Mode().IsRegular()}, nil
}

// nothing is what openRead returns for a path that is not a regular file.
type nothing struct{}

func (nothing) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
func (nothing) Close() error                      { return nil }
