package store

import "testing"

type buffered struct {
	Store
	n int64
}

func (b buffered) PutBuffer() int64 { return b.n }

func TestPutBuffersCountsAllButTheLargest(t *testing.T) {
	for _, c := range []struct {
		stores []Store
		want   int64
	}{
		{nil, 0},
		{[]Store{buffered{n: 16}}, 0},
		{[]Store{buffered{n: 15}, buffered{n: 17}, buffered{}}, 15},
		{[]Store{buffered{n: 15}, buffered{n: 15}}, 15},
		// A store that does not say what it buffers counts as none.
		{[]Store{buffered{n: 15}, struct{ Store }{}, buffered{n: 16}}, 15},
	} {
		if got := PutBuffers(c.stores); got != c.want {
			t.Errorf("PutBuffers(%v) = %d, want %d", c.stores, got, c.want)
		}
	}
}
