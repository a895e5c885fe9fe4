package store

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadAhead(t *testing.T) {
	data := randomBytes(5*aheadChunkSize + 12345)
	for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data[:3000])), iotest.HalfReader(bytes.NewReader(data))} {
		ra := newReadAhead(src)
		got, err := io.ReadAll(iotest.HalfReader(ra))
		ra.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[:len(got)]) || (len(got) != len(data) && len(got) != 3000) {
			t.Fatalf("read %d bytes, differing from the source", len(got))
		}
	}
	boom := errors.New("boom")
	ra := newReadAhead(io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(boom)))
	if _, err := io.ReadAll(ra); !errors.Is(err, boom) {
		t.Fatalf("error not passed on: %v", err)
	}
	ra.Close()
	// Close without reading to the end must not leak the goroutine blocked.
	ra = newReadAhead(bytes.NewReader(data))
	ra.Close()
}
