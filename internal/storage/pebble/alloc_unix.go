//go:build unix

package pebble

import (
	"os"
	"syscall"
)

// allocated returns the bytes fi's file takes on disk: its allocated blocks, which count
// preallocated space past its size (Pebble's WAL files) and leave out holes; fi's size when the file
// system does not tell.
func allocated(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Blocks) * 512 // st_blocks is in 512-byte units whatever the block size
	}
	return uint64(max(fi.Size(), 0))
}
