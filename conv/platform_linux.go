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

// prefetch asks the kernel to read path into the page cache in the background.
func prefetch(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED)
	unix.Close(fd)
}
