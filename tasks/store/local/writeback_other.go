//go:build !linux

package local

import "os"

// writeback is the file itself where sync_file_range(2) is not: the fsync
// at the end of Put writes it all.
type writeback struct {
	*os.File
	begun int64
}

func newWriteback(f *os.File) *writeback { return &writeback{File: f} }
