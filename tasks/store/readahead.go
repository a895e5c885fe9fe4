package store

import (
	"io"
	"sync"
)

// readAhead reads its source in a goroutine of its own, a few chunks
// ahead of the consumer, so network reads overlap with hashing and
// writing. Memory is bounded by aheadChunks × aheadChunkSize.
type readAhead struct {
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

func newReadAhead(src io.Reader) *readAhead {
	ra := &readAhead{
		chunks: make(chan []byte, aheadChunks),
		free:   make(chan []byte, aheadChunks+1),
		done:   make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for i := 0; i < aheadChunks+1; i++ {
		ra.free <- make([]byte, aheadChunkSize)
	}
	go ra.fill(src)
	return ra
}

func (ra *readAhead) fill(src io.Reader) {
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

func (ra *readAhead) Read(p []byte) (int, error) {
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
func (ra *readAhead) Close() { ra.once.Do(func() { close(ra.done) }) }
