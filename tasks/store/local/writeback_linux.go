package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeback passes a Put's bytes to its file and, every writebackEvery
// bytes, asks the kernel to start writing them to disk. A machine with
// much memory holds gigabytes dirty before its own background writeback
// starts (vm.dirty_background_ratio is a share of memory), so without it
// a 1 GiB backup reached the disk only in the fsync after the stream had
// ended, and a run waited for the whole file there. SYNC_FILE_RANGE_WRITE
// only starts the writeback and promises nothing; the fsync at the end of
// Put still decides that the file is on disk.
type writeback struct {
	f          *os.File
	fd         int
	off, begun int64 // bytes written; bytes whose writeback was started
}

const writebackEvery = 8 << 20

func newWriteback(f *os.File) *writeback { return &writeback{f: f, fd: int(f.Fd())} }

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.begun >= writebackEvery {
		_ = unix.SyncFileRange(w.fd, w.begun, w.off-w.begun, unix.SYNC_FILE_RANGE_WRITE)
		w.begun = w.off
	}
	return n, err
}
