package pebble

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
)

// ErrLocked is returned by Open when another process (a running kinesisd, or kinesisd export or
// import) has the database directory open: Pebble locks it, and one process at a time may use it.
var ErrLocked = errors.New("the data directory is in use by another process (a running kinesisd?); stop it first")

// lockHeld reports whether err from pebble.Open is the directory lock being held elsewhere: the
// fcntl lock refused (EAGAIN or EACCES, not from opening a path), or held by this very process.
func lockHeld(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}
