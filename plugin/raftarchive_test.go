package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// raftSnapshot builds an archive the way Consul's snapshot package writes
// one: meta.json, state.bin, then SHA256SUMS of the two. mutate may change
// the members before they are written.
func raftSnapshot(t *testing.T, state []byte, mutate func(files map[string][]byte, order *[]string)) []byte {
	t.Helper()
	meta := []byte(fmt.Sprintf(`{"ID":"2-10-1","Index":10,"Term":2,"Size":%d,"Version":1}`, len(state)))
	files := map[string][]byte{"meta.json": meta, "state.bin": state}
	var sums strings.Builder
	for _, n := range []string{"meta.json", "state.bin"} {
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(files[n]), n)
	}
	files["SHA256SUMS"] = []byte(sums.String())
	order := []string{"meta.json", "state.bin", "SHA256SUMS"}
	if mutate != nil {
		mutate(files, &order)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range order {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(files[n]))})
		tw.Write(files[n])
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func randomState(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestRaftArchiveCheck: a whole archive passes whichever way it is cut
// into writes; every way of not being whole fails as incomplete.
func TestRaftArchiveCheck(t *testing.T) {
	state := randomState(300 << 10)
	good := raftSnapshot(t, state, nil)
	for _, chunk := range []int{1 << 10, 4096, 64 << 10, len(good)} {
		tee := newArchiveTee()
		var out bytes.Buffer
		for i := 0; i < len(good); i += chunk {
			if _, err := io.MultiWriter(&out, tee).Write(good[i:min(i+chunk, len(good))]); err != nil {
				t.Fatalf("chunk %d: write: %v", chunk, err)
			}
		}
		a, err := tee.finish(nil)
		if err != nil || a.Meta.Index != 10 || a.StateSize != int64(len(state)) {
			t.Fatalf("chunk %d: %+v %v", chunk, a, err)
		}
	}
	flip := func(at int) []byte { b := bytes.Clone(good); b[at] ^= 1; return b }
	cases := map[string][]byte{
		"cut cleanly in state.bin":    good[:len(good)/2],
		"cut before the gzip trailer": good[:len(good)-8],
		"bad gzip trailer CRC":        flip(len(good) - 6),
		"flipped byte":                flip(len(good) / 3),
		"nothing":                     nil,
		"trailing bytes":              append(bytes.Clone(good), 0, 1, 2),
		"no SHA256SUMS": raftSnapshot(t, state, func(_ map[string][]byte, order *[]string) {
			*order = (*order)[:2]
		}),
		"wrong sum": raftSnapshot(t, state, func(f map[string][]byte, _ *[]string) {
			f["SHA256SUMS"] = bytes.Replace(f["SHA256SUMS"], []byte("state.bin"), []byte("state.bin"), 1)
			f["SHA256SUMS"][0] ^= 1
		}),
		"state.bin missing": raftSnapshot(t, state, func(_ map[string][]byte, order *[]string) {
			*order = []string{"meta.json", "SHA256SUMS"}
		}),
		"unlisted member": raftSnapshot(t, state, func(f map[string][]byte, order *[]string) {
			f["extra"] = []byte("x")
			*order = []string{"meta.json", "state.bin", "extra", "SHA256SUMS"}
		}),
		"state shorter than meta says": raftSnapshot(t, state, func(f map[string][]byte, _ *[]string) {
			f["meta.json"] = bytes.Replace(f["meta.json"], []byte(fmt.Sprint(len(state))), []byte(fmt.Sprint(len(state)+1)), 1)
			f["SHA256SUMS"] = []byte(fmt.Sprintf("%x  meta.json\n%x  state.bin\n", sha256.Sum256(f["meta.json"]), sha256.Sum256(f["state.bin"])))
		}),
	}
	for name, data := range cases {
		tee := newArchiveTee()
		_, werr := io.Copy(tee, bytes.NewReader(data))
		_, err := tee.finish(nil)
		if err == nil || !errors.Is(err, ErrIncomplete) {
			t.Errorf("%s: passed (%v, write %v)", name, err, werr)
		}
		if _, err := readRaftArchive(bytes.NewReader(data)); err == nil || !strings.Contains(err.Error(), "incomplete snapshot") {
			t.Errorf("%s: readRaftArchive: %v", name, err)
		}
	}
}
