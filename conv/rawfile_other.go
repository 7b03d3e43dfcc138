//go:build !linux

package conv

import "os"

// openRead opens path for reading and returns its size, permission bits, mtime and whether it
// is a regular file.
func openRead(path string) (readCloserAt, fileStat, error) {
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
