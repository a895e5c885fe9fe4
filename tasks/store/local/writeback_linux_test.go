package local

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestWritebackStartsEachWindow: every writebackEvery bytes are handed to
// the kernel's writeback once, the tail is left to the fsync, and the
// file holds exactly what was written.
func TestWritebackStartsEachWindow(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 2*writebackEvery+writebackEvery/2)
	rand.Read(data)
	w := newWriteback(f)
	for p := data; len(p) > 0; {
		n := min(len(p), 3<<20)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if w.begun < 2*writebackEvery || w.begun > w.off || w.off != int64(len(data)) {
		t.Fatalf("writeback begun for %d of %d bytes written, want at least %d", w.begun, w.off, 2*writebackEvery)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file differs from what was written (%d bytes, %v)", len(got), err)
	}
}
