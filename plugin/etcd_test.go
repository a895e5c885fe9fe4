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
