//go:build !unix

package pebble

import "os"

// allocated returns the bytes fi's file takes on disk: here, its size.
func allocated(fi os.FileInfo) uint64 { return uint64(max(fi.Size(), 0)) }
