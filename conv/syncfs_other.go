//go:build !linux

package conv

import (
	"errors"
	"os"
)

// groupSync is false where there is no syncfs: a batch fsyncs each staged file.
const groupSync = false

func fileDev(*os.File) uint64 { return 0 }

func syncFS(string) error { return errors.New("syncfs: not supported on this system") }
