package store

import "syscall"

// partBuffer returns n bytes outside the Go heap, and what frees them.
// A download's parts are tens of MiB held for its whole life: in the heap
// they would sit above the soft memory limit vigil sets for the garbage of
// a stream, and the GC would run without pause for nothing to collect.
func partBuffer(n int) ([]byte, func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { _ = syscall.Munmap(b) }
}
