package plugin

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func etcdStream(dbSize int) []byte {
	db := make([]byte, dbSize)
	rand.Read(db)
	sum := sha256.Sum256(db)
	return append(db, sum[:]...)
}

// The trailer check must hold for any way the stream is cut into writes.
func TestTrailerCheck(t *testing.T) {
	stream := etcdStream(512 * 9)
	for _, chunk := range []int{1, 7, 31, 32, 33, 511, 4096, len(stream)} {
		c := newTrailerCheck()
		for i := 0; i < len(stream); i += chunk {
			c.Write(stream[i:min(i+chunk, len(stream))])
		}
		if err := c.verify(); err != nil {
			t.Errorf("chunk %d: %v", chunk, err)
		}
	}
	bad := bytes.Clone(stream)
	bad[100] ^= 1
	c := newTrailerCheck()
	c.Write(bad)
	if c.verify() == nil {
		t.Error("a flipped byte passed")
	}
	c = newTrailerCheck()
	c.Write(stream[:len(stream)-512])
	if c.verify() == nil {
		t.Error("a truncated stream passed")
	}
}

func TestDigestSums(t *testing.T) {
	data := etcdStream(4096)
	for _, chunk := range []int{1, 5, 32, 100, len(data)} {
		d := NewDigest()
		for i := 0; i < len(data); i += chunk {
			d.Write(data[i:min(i+chunk, len(data))])
		}
		all := sha256.Sum256(data)
		prefix := sha256.Sum256(data[:len(data)-32])
		sum, tail := d.SumExcept(32)
		if !bytes.Equal(d.Sum(), all[:]) || !bytes.Equal(sum, prefix[:]) || !bytes.Equal(tail, data[len(data)-32:]) || d.Written() != int64(len(data)) {
			t.Fatalf("chunk %d: sums differ", chunk)
		}
		if !bytes.Equal(d.Sum(), all[:]) {
			t.Fatal("Sum changed the running state")
		}
	}
}

func TestDirtyPool(t *testing.T) {
	p := &dirtyPool{}
	for _, n := range []int{0, 1, 255, 256, 257, 16384, 1 << 20, 3 << 20} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
	}
}
