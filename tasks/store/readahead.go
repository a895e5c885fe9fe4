package store

import (
	"io"
	"sync"
)

// ReadAhead reads its source in a goroutine of its own, a few chunks
// ahead of the consumer, so network reads overlap with hashing and
// writing, and a consumer that stops to send what it read does not stop
// its source. Memory is bounded by (chunks+1) × chunk size.
type ReadAhead struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	once   sync.Once
	full   []byte // the chunk being consumed, whole, to hand back
	cur    []byte // what is left of it
	err    error
	errc   chan error
}

const (
	aheadChunks    = 4
	aheadChunkSize = 1 << 20
)

func newReadAhead(src io.Reader) *ReadAhead {
	return NewReadAhead(src, aheadChunks, aheadChunkSize)
}

// NewReadAhead starts reading src up to chunks × size bytes ahead of
// Read. Close stops it; src is the caller's to close.
func NewReadAhead(src io.Reader, chunks, size int) *ReadAhead {
	ra := &ReadAhead{
		chunks: make(chan []byte, chunks),
		free:   make(chan []byte, chunks+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for i := 0; i < chunks+1; i++ {
		ra.free <- make([]byte, size)
	}
	go ra.fill(src)
	return ra
}

func (ra *ReadAhead) fill(src io.Reader) {
	defer close(ra.chunks)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := io.ReadFull(src, buf[:cap(buf)])
		if n > 0 {
			select {
			case ra.chunks <- buf[:n]:
			case <-ra.done:
				return
			}
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if err != nil {
			ra.errc <- err
			return
		}
	}
}

func (ra *ReadAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.full != nil {
			ra.free <- ra.full[:cap(ra.full)]
			ra.full = nil
		}
		chunk, ok := <-ra.chunks
		if !ok {
			if ra.err == nil {
				ra.err = <-ra.errc
			}
			return 0, ra.err
		}
		ra.full, ra.cur = chunk, chunk
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine; the source is the caller's to close.
func (ra *ReadAhead) Close() { ra.once.Do(func() { close(ra.done) }) }
