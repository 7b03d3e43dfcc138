//go:build !linux

package conv

import (
	"errors"
	"os"
)

// groupSync is false where there is no syncfs: a batch fsyncs each staged file.
const groupSync = false

func fileDev(*os.File) uint64 { return 0 }

// keepOwner does nothing here: a replaced file becomes the caller's.
func keepOwner(*os.File, string) uint64 { return 0 }

// HardLinks returns 0 here: the link count is not looked at.
func HardLinks(string) uint64 { return 0 }

func syncfs(string) error { return errors.New("syncfs: not supported on this system") }

// processAlive reports whether a process with this id may exist: without a portable check, it
// answers no, and --resume removes every temporary file as older versions did.
func processAlive(int) bool { return false }

// prefetch is a no-op where there is no posix_fadvise: it never asks.
func prefetch(string) bool { return false }

// dropCache is a no-op where there is no posix_fadvise.
func dropCache(string) {}
