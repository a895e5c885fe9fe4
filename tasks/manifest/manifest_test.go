package manifest

import (
	"strings"
	"testing"
	"time"
)

func sample() *Manifest {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	id := NewID(t0)
	return &Manifest{
		Format: Format, ID: id, Backup: "etcd-main", Type: "etcd",
		Object: "etcd-main/" + id + ".db.zst", Size: 42, SHA256: strings.Repeat("ab", 32),
		Compression: "zstd", Source: map[string]string{"revision": "7"},
		StartedAt: t0, FinishedAt: t0.Add(time.Second), Version: "test",
	}
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != m.SHA256 || got.Object != m.Object || !got.StartedAt.Equal(m.StartedAt) {
		t.Fatalf("round trip: %+v", got)
	}
	if ts, err := IDTime(m.ID); err != nil || !ts.Equal(m.StartedAt) {
		t.Fatalf("IDTime = %v %v", ts, err)
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]func(*Manifest){
		"format":      func(m *Manifest) { m.Format = 2 },
		"id":          func(m *Manifest) { m.ID = "latest" },
		"sha":         func(m *Manifest) { m.SHA256 = "xyz" },
		"size":        func(m *Manifest) { m.Size = -1 },
		"compression": func(m *Manifest) { m.Compression = "gzip" },
		"escape":      func(m *Manifest) { m.Object = "../other/" + m.ID },
		"foreign":     func(m *Manifest) { m.Object = "etcd-main/20200101T000000.000Z.db" },
		"time":        func(m *Manifest) { m.FinishedAt = m.StartedAt.Add(-time.Hour) },
		// A CRC32C stands for the sha256 of an encrypted object only.
		"crc32c, not encrypted": func(m *Manifest) { m.SHA256, m.CRC32C = "", "0a1b2c3d" },
		"crc32c and sha256":     func(m *Manifest) { encrypt(m); m.CRC32C = "0a1b2c3d" },
		"crc32c malformed":      func(m *Manifest) { encrypt(m); m.SHA256, m.CRC32C = "", "0A1B2C3D" },
		"neither":               func(m *Manifest) { encrypt(m); m.SHA256 = "" },
	}
	for name, mutate := range cases {
		m := sample()
		mutate(m)
		b, _ := m.Encode()
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse([]byte(`{"format":1,"extra":true}`)); err == nil {
		t.Error("unknown field accepted")
	}
	b, _ := sample().Encode()
	if _, err := Parse(append(b, []byte(`{}`)...)); err == nil {
		t.Error("trailing data accepted")
	}
	// A second "sha256" or an "SHA256" beside the signed one would let an
	// edit change what is read while the signed bytes stay the same.
	good := string(b)
	for name, edited := range map[string]string{
		"duplicate key":    strings.Replace(good, `"size": 42,`, `"size": 42, "size": 41,`, 1),
		"case-variant key": strings.Replace(good, `"size": 42,`, `"size": 42, "Size": 41,`, 1),
		"case-only key":    strings.Replace(good, `"size": 42,`, `"SIZE": 42,`, 1),
	} {
		if edited == good {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if _, err := Parse([]byte(edited)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := sample().Encode()
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":1,"id":"20261121T100000.000Z","backup":"x","compression":"none"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must encode and parse again to the same thing.
		again, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-parse of an accepted manifest failed: %v", err)
		}
		if m2.SHA256 != m.SHA256 || m2.Object != m.Object || m2.Size != m.Size {
			t.Fatal("manifest changed in a round trip")
		}
	})
}

func encrypt(m *Manifest) {
	m.Encryption = &Encryption{Algorithm: "a", SegmentSize: 1, Mount: "transit", Key: "k", WrappedKey: "vault:v1:x", PlainSHA256: strings.Repeat("cd", 32)}
}

// An encrypted object is checked by its CRC32C (or, written before
// 2026-12-06, its sha256).
func TestEncryptedChecksums(t *testing.T) {
	for name, mutate := range map[string]func(*Manifest){
		"crc32c": func(m *Manifest) { m.SHA256, m.CRC32C = "", "0a1b2c3d" },
		"sha256": func(*Manifest) {},
	} {
		m := sample()
		encrypt(m)
		mutate(m)
		b, _ := m.Encode()
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := map[string]string{"crc32c": "crc32c:0a1b2c3d", "sha256": m.SHA256}[name]; got.Checksum() != want {
			t.Errorf("%s: Checksum() = %q, want %q", name, got.Checksum(), want)
		}
	}
}
