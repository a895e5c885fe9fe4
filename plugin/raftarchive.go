package plugin

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrIncomplete marks a snapshot stream that is not whole: it ended early
// (cleanly or not), a checksum did not match, or a part is missing. A
// backup whose stream fails this way never gets a manifest.
var ErrIncomplete = errors.New("incomplete snapshot")

// raftMeta is the part of meta.json (hashicorp/raft's SnapshotMeta) the
// checks use and the manifest reports.
type raftMeta struct {
	ID    string
	Index uint64
	Term  uint64
	Size  int64
}

// raftArchive is what a checked archive held.
type raftArchive struct {
	Meta raftMeta
	// StateSize is the length of state.bin.
	StateSize int64
	// Sealed: the archive ends with a non-empty SHA256SUMS.sealed (Vault).
	Sealed bool
}

// readRaftArchive reads a raft snapshot archive, the format of `consul
// snapshot save` (and of Vault's integrated storage): a gzipped tar of
// meta.json, state.bin and SHA256SUMS, the last listing the sha256 of the
// other two. It checks what Consul's own snapshot reader checks, as the
// bytes pass: every listed file present with its sum, no file unlisted,
// state.bin as long as meta.json says, the gzip trailer's CRC and length,
// and nothing after the archive. Any failure wraps ErrIncomplete. Vault's
// SHA256SUMS.sealed is read and reported (Sealed), not required here.
func readRaftArchive(r io.Reader) (*raftArchive, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a gzip stream: %v", ErrIncomplete, err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	var sums []byte
	var metaJSON []byte
	a := &raftArchive{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrIncomplete, cut(err))
		}
		hash := sha256.New()
		var dst io.Writer = hash
		var src io.Reader = tr
		var buf strings.Builder
		switch h.Name {
		case "SHA256SUMS", "meta.json":
			// Small by nature; a huge one is not a snapshot's.
			src = io.LimitReader(tr, 1<<20)
			dst = io.MultiWriter(hash, &buf)
		}
		n, err := io.Copy(dst, src)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrIncomplete, h.Name, cut(err))
		}
		switch h.Name {
		case "SHA256SUMS":
			sums = []byte(buf.String())
			continue
		case "meta.json":
			metaJSON = []byte(buf.String())
		case "state.bin":
			a.StateSize = n
		case "SHA256SUMS.sealed":
			// Vault's SHA256SUMS encrypted by its seal: not listed in
			// SHA256SUMS (it is a copy of it), and only the sealed
			// cluster can read it; Vault's own client requires it there.
			a.Sealed = n > 0
			continue
		}
		got[h.Name] = hex.EncodeToString(hash.Sum(nil))
	}
	// The tar end marker came; the gzip stream must end there too, with a
	// trailer whose CRC and length match (gzip checks them at EOF).
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("%w: gzip trailer: %s", ErrIncomplete, cut(err))
	}
	if sums == nil {
		return nil, fmt.Errorf("%w: the archive has no SHA256SUMS", ErrIncomplete)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		listed[f[1]] = true
		sum, ok := got[f[1]]
		if !ok {
			return nil, fmt.Errorf("%w: %s is listed in SHA256SUMS but missing from the archive", ErrIncomplete, f[1])
		}
		if sum != f[0] {
			return nil, fmt.Errorf("%w: %s does not match its SHA256SUMS entry", ErrIncomplete, f[1])
		}
	}
	for _, required := range []string{"meta.json", "state.bin"} {
		if !listed[required] {
			return nil, fmt.Errorf("%w: SHA256SUMS does not list %s", ErrIncomplete, required)
		}
	}
	for name := range got {
		if !listed[name] {
			return nil, fmt.Errorf("%w: %s is not listed in SHA256SUMS", ErrIncomplete, name)
		}
	}
	if err := json.Unmarshal(metaJSON, &a.Meta); err != nil {
		return nil, fmt.Errorf("%w: meta.json: %v", ErrIncomplete, err)
	}
	if a.Meta.Size > 0 && a.Meta.Size != a.StateSize {
		return nil, fmt.Errorf("%w: state.bin has %d bytes, meta.json says %d", ErrIncomplete, a.StateSize, a.Meta.Size)
	}
	return a, nil
}

// cut names io.ErrUnexpectedEOF plainly: it is what a stream that ended
// early looks like to gzip and tar.
func cut(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the stream ended early (unexpected EOF)"
	}
	return err.Error()
}

// archiveTee checks a raft snapshot archive while it streams elsewhere:
// its Write hands the bytes to readRaftArchive in a goroutine, so the
// stream is read once and nothing touches the disk. A check that fails
// early makes the next Write fail, which stops the copy.
type archiveTee struct {
	pw   *io.PipeWriter
	done chan struct{}
	a    *raftArchive
	err  error
}

func newArchiveTee() *archiveTee {
	pr, pw := io.Pipe()
	t := &archiveTee{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.a, t.err = readRaftArchive(pr)
		if t.err == nil {
			// Bytes after the gzip stream are not part of a snapshot.
			if n, _ := io.Copy(io.Discard, pr); n > 0 {
				t.err = fmt.Errorf("%w: %d bytes follow the end of the archive", ErrIncomplete, n)
			}
		}
		if t.err != nil {
			pr.CloseWithError(t.err)
		}
	}()
	return t
}

func (t *archiveTee) Write(p []byte) (int, error) { return t.pw.Write(p) }

// finish ends the stream and returns the check's verdict. abort, when not
// nil, is why the stream was cut; the check is then only waited for.
func (t *archiveTee) finish(abort error) (*raftArchive, error) {
	if abort != nil {
		t.pw.CloseWithError(abort)
	} else {
		t.pw.Close()
	}
	<-t.done
	return t.a, t.err
}
