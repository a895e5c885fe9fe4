package envelope

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func sealed(t *testing.T, key, plain []byte, backup, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := Encrypt(&buf, key, backup, id)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes: segments do not follow the writes.
	for i := 0; i < len(plain); i += 77777 {
		if _, err := w.Write(plain[i:min(i+77777, len(plain))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(key, ct []byte, backup, id string) ([]byte, error) {
	r, err := Decrypt(bytes.NewReader(ct), key, backup, id, SegmentSize)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// TestStreamAuthenticates: the stream decrypts to what was written; a
// flipped byte, a cut, segments swapped, another key or another backup's
// name all fail as tampered.
func TestStreamAuthenticates(t *testing.T) {
	key, other := make([]byte, 32), make([]byte, 32)
	rand.Read(key)
	rand.Read(other)
	plain := make([]byte, 3*SegmentSize+12345)
	rand.Read(plain)
	ct := sealed(t, key, plain, "db", "20261129T000000.000Z")
	if bytes.Contains(ct, plain[:64]) {
		t.Fatal("the ciphertext holds the plaintext")
	}
	got, err := open(key, ct, "db", "20261129T000000.000Z")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v (%d of %d bytes)", err, len(got), len(plain))
	}
	flip := append([]byte(nil), ct...)
	flip[len(flip)/2] ^= 1
	cut := ct[:len(ct)-SegmentSize/2]
	// The second and third segments swapped (the header precedes the first).
	swap := append([]byte(nil), ct...)
	first := SegmentSize - (1 + 32 + 7)
	s2, s3 := swap[first:first+SegmentSize], swap[first+SegmentSize:first+2*SegmentSize]
	tmp := append([]byte(nil), s2...)
	copy(s2, s3)
	copy(s3, tmp)
	cases := map[string]func() ([]byte, error){
		"flipped byte":     func() ([]byte, error) { return open(key, flip, "db", "20261129T000000.000Z") },
		"cut short":        func() ([]byte, error) { return open(key, cut, "db", "20261129T000000.000Z") },
		"segments swapped": func() ([]byte, error) { return open(key, swap, "db", "20261129T000000.000Z") },
		"another key":      func() ([]byte, error) { return open(other, ct, "db", "20261129T000000.000Z") },
		"another backup":   func() ([]byte, error) { return open(key, ct, "other", "20261129T000000.000Z") },
		"another id":       func() ([]byte, error) { return open(key, ct, "db", "20261129T000001.000Z") },
	}
	for name, f := range cases {
		out, err := f()
		if !errors.Is(err, ErrTampered) {
			t.Errorf("%s: %v", name, err)
		}
		// Only whole segments that authenticated came out before the
		// error: the first holds the header, the others a full segment.
		firstPlain, restPlain := SegmentSize-16-(1+32+7), SegmentSize-16
		if n := len(out); n != 0 && (n < firstPlain || (n-firstPlain)%restPlain != 0) {
			t.Errorf("%s: %d bytes came out, not a whole number of segments", name, n)
		}
		if len(out) > 0 && !bytes.Equal(out, plain[:len(out)]) {
			t.Errorf("%s: bytes that are not the plaintext came out", name)
		}
	}
}

// Backups written before 2026-12-06 have 1 MiB segments: their manifests
// say so, and they still decrypt; a segment size this vigil never wrote
// is refused before any byte is read.
func TestLegacySegmentsDecrypt(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	plain := make([]byte, 2*LegacySegmentSize+99)
	rand.Read(plain)
	c, err := cipherFor(key, LegacySegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := c.NewEncryptingWriter(&buf, aad("db", "id"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	r, err := Decrypt(bytes.NewReader(buf.Bytes()), key, "db", "id", LegacySegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("legacy round trip: %v", err)
	}
	if _, err := open(key, buf.Bytes(), "db", "id"); err == nil {
		t.Error("1 MiB segments read as 256 KiB ones")
	}
	if _, err := Decrypt(bytes.NewReader(buf.Bytes()), key, "db", "id", 4096); err == nil {
		t.Error("a segment size never written was accepted")
	}
}
