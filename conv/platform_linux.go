package conv

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupSync is true where a batch makes a group of staged files durable with one syncfs
// per filesystem instead of one fsync per file.
//
// On this machine's ext4 each fsync of a small new file cost 0.6 ms of waiting, as much as
// everything else a conversion does; a batch of 4000 modules spent most of its time in them.
// syncfs(2) writes back and waits for every dirty page and inode of the filesystem, so after
// it returns each file staged before the call is as durable as an fsync would have made it;
// since Linux 5.8 it also reports writeback errors of the files it flushed.
const groupSync = true

// fileDev returns the device of the filesystem f is on.
func fileDev(f *os.File) uint64 {
	if st, err := f.Stat(); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			return sys.Dev
		}
	}
	return 0
}

// keepOwner gives tmp the owner and group of the file at path, which tmp is to replace, when
// they are not the caller's: root converting someone else's modules in place leaves them
// theirs, as `sed -i` does (sign-file does not). A path that is not there yet, or a chown
// that is not allowed (not root), leaves tmp the caller's. It runs before the mode is set:
// chown clears the set-user-ID and set-group-ID bits. It returns the replaced file's link
// count (0 when there is none), which the same lstat gives.
func keepOwner(tmp *os.File, path string) (links uint64) {
	old := lstatSys(path)
	if old == nil {
		return 0
	}
	if int(old.Uid) != os.Geteuid() || int(old.Gid) != os.Getegid() {
		tmp.Chown(int(old.Uid), int(old.Gid)) // EPERM unless root: the file stays the caller's
	}
	return uint64(old.Nlink)
}

// HardLinks returns how many names the file at path has (0 when it is not there): a file
// replaced by a rename is a new file, and its other names keep the old one.
func HardLinks(path string) uint64 {
	if old := lstatSys(path); old != nil {
		return uint64(old.Nlink)
	}
	return 0
}

// lstatSys is the system's lstat of path, or nil when there is none.
func lstatSys(path string) *syscall.Stat_t {
	st, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	return sys
}

// syncfs makes everything written to the filesystem holding path durable.
func syncfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: path, Err: err}
	}
	return nil
}

// processAlive reports whether a process with this id exists (on this machine).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// prefetch asks the kernel to read path into the page cache in the background, unless all
// of it is there already, and reports whether it asked. Where the kernel cannot tell
// (cachestat(2) arrived in Linux 6.5) or the file cannot be opened, it asks.
func prefetch(path string) bool {
	fd, err := openForAdvice(path)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	if cached(fd) {
		return false
	}
	unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED)
	return true
}

// cached reports whether every page of the open file is in the page cache (false when the
// kernel cannot tell).
func cached(fd int) bool {
	var st unix.Stat_t
	var cs unix.Cachestat_t
	if unix.Fstat(fd, &st) != nil || unix.Cachestat(uint(fd), &unix.CachestatRange{}, &cs, 0) != nil {
		return false
	}
	page := int64(unix.Getpagesize())
	return cs.Cache >= uint64((st.Size+page-1)/page)
}

// dropCache asks the kernel to drop path's pages from the page cache (POSIX_FADV_DONTNEED),
// as `dd oflag=nocache` does. A batch writes a whole module tree and reads none of it back,
// so keeping what it wrote would only push the machine's working set out of memory; the
// committer calls it once a group is durable, when the pages are clean and can go at once.
//
// It also makes the batch faster where new page-cache pages are dear. On a VM with free page
// reporting (virtio-balloon; Firecracker and many clouds) the host takes back guest memory
// that has been free for a while, and the guest's first write into each such page faults on
// the host: here writing 400 MiB into fresh pages took 1.5 s, into pages freed a moment
// before 0.13-0.15 s. Dropped pages are the ones the next group's writes get. In an ECDSA
// P-384 batch over the 4023 Debian modules it cut system time from 2.1-2.8 s to 1.2-1.9 s
// and the batch from 3.4-5.3 s to 3.0-4.9 s, six alternating pairs of seven.
//
// It is advice: errors are ignored, and dirty pages would stay.
func dropCache(path string) {
	if fd, err := openForAdvice(path); err == nil {
		unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		unix.Close(fd)
	}
}

// openForAdvice opens path to give posix_fadvise advice about it (prefetch, dropCache):
// read-only, and without blocking on a FIFO or a device.
func openForAdvice(path string) (int, error) {
	return unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
}
