package tasks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// source is a Target that serves fixed bytes: a stand-in for a snapshot
// stream, so the pipeline's own behaviour (compression, hashing, manifest
// last, failures) can be tested without a server. Servers are tested for
// real in e2e/.
type source struct {
	data     []byte
	failAt   int // fail after this many bytes; -1 never
	restored bytes.Buffer
}

func (s *source) Snapshot(ctx context.Context, w io.Writer, _ plugin.SnapshotOptions) (plugin.Source, error) {
	n := len(s.data)
	if s.failAt >= 0 {
		n = s.failAt
	}
	if _, err := w.Write(s.data[:n]); err != nil {
		return nil, err
	}
	if s.failAt >= 0 {
		return nil, errors.New("source: connection reset")
	}
	return plugin.Source{"kind": "test"}, nil
}

func (s *source) Restore(ctx context.Context, r io.Reader, _ plugin.RestoreOptions) error {
	_, err := io.Copy(&s.restored, r)
	return err
}

func standalone(t *testing.T, src *source, compression string) (*Deps, *config.Backup) {
	t.Helper()
	dir := t.TempDir()
	b := &config.Backup{
		Type: config.TypeEtcd, Name: "unit", Schedule: "0 * * * *", Compression: compression,
		Storage: config.Storage{Kind: config.StorageLocal, Name: "d", Path: dir},
		Lock:    config.Lock{Key: "vigil/locks/unit", TTL: 15 * time.Second},
		Timeout: time.Minute,
	}
	d := &Deps{Log: hclog.NewNullLogger(), Version: "test", Now: time.Now,
		Target: func(*config.Backup, string) (plugin.Target, error) { return src, nil }}
	return d, b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRunWritesObjectThenManifest(t *testing.T) {
	for _, comp := range []string{"zstd", "none"} {
		src := &source{data: randomBytes(3 << 20), failAt: -1}
		d, b := standalone(t, src, comp)
		run, err := Run(context.Background(), d, b, RunOptions{})
		if err != nil || run.Status != record.Succeeded {
			t.Fatalf("%s: run %+v: %v", comp, run, err)
		}
		s, _ := local.New(b.Storage.Path)
		m, err := FindBackup(context.Background(), s, nil, "unit", "latest")
		if err != nil {
			t.Fatal(err)
		}
		if m.Object != run.Object || m.SHA256 != run.SHA256 || m.Compression != comp || m.Source["kind"] != "test" {
			t.Fatalf("%s: manifest %+v, run %+v", comp, m, run)
		}
		// The restore path gives back exactly the source bytes.
		src2 := &source{failAt: -1}
		d.Target = func(*config.Backup, string) (plugin.Target, error) { return src2, nil }
		if _, err := Restore(context.Background(), d, b, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(src2.restored.Bytes(), src.data) {
			t.Fatalf("%s: restored %d bytes, not the source's %d", comp, src2.restored.Len(), len(src.data))
		}
		last, _ := (&record.Store{S: s}).Last(context.Background(), "unit", record.KindBackup)
		if last == nil || last.Status != record.Succeeded || last.SHA256 != m.SHA256 {
			t.Fatalf("%s: standalone record %+v", comp, last)
		}
	}
}

func TestFailedSnapshotLeavesNoBackup(t *testing.T) {
	src := &source{data: randomBytes(2 << 20), failAt: 1 << 20}
	d, b := standalone(t, src, "zstd")
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err == nil || run.Status != record.Failed || !strings.Contains(run.Error, "connection reset") {
		t.Fatalf("run %+v: %v", run, err)
	}
	s, _ := local.New(b.Storage.Path)
	objs, _ := s.List(context.Background(), "unit/")
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, "unit/runs/") {
			t.Errorf("a failed run left %s", o.Key)
		}
	}
	if _, err := FindBackup(context.Background(), s, nil, "unit", ""); !errors.Is(err, ErrNoBackup) {
		t.Errorf("FindBackup after a failed run: %v", err)
	}
	last, _ := (&record.Store{S: s}).Last(context.Background(), "unit", record.KindBackup)
	if last == nil || last.Status != record.Failed || last.Object != "" {
		t.Errorf("record of a failed run: %+v", last)
	}
}

func TestTimeoutFailsTheRun(t *testing.T) {
	src := &slowSource{}
	d, b := standalone(t, &source{}, "none")
	d.Target = func(*config.Backup, string) (plugin.Target, error) { return src, nil }
	b.Timeout = 200 * time.Millisecond
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err == nil || !strings.Contains(run.Error, "timeout") {
		t.Fatalf("run %+v: %v", run, err)
	}
}

type slowSource struct{ source }

func (s *slowSource) Snapshot(ctx context.Context, w io.Writer, _ plugin.SnapshotOptions) (plugin.Source, error) {
	for ctx.Err() == nil {
		if _, err := w.Write(make([]byte, 1024)); err != nil {
			return nil, err
		}
		time.Sleep(time.Millisecond)
	}
	return nil, ctx.Err()
}

func TestRestoreRefusesCorruptObject(t *testing.T) {
	src := &source{data: randomBytes(1 << 20), failAt: -1}
	d, b := standalone(t, src, "none")
	b.Type = config.TypeConsulKV // restored over the network: checked first
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.Storage.Path, filepath.FromSlash(run.Object))
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	os.WriteFile(path, data, 0o644)
	target := &source{failAt: -1}
	d.Target = func(*config.Backup, string) (plugin.Target, error) { return target, nil }
	_, err = Restore(context.Background(), d, b, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("restore of a corrupt object: %v", err)
	}
	if target.restored.Len() != 0 {
		t.Fatalf("the target received %d bytes before the check", target.restored.Len())
	}
}

func TestStandaloneLockSkips(t *testing.T) {
	src := &source{data: randomBytes(1024), failAt: -1}
	d, b := standalone(t, src, "none")
	locker, err := d.locker(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := locker.Acquire(context.Background(), b.Lock.Key, lockHolder(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Release(context.Background())
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil || run.Status != record.Skipped || run.Holder == nil || run.Holder.PID != 4242 {
		t.Fatalf("run while locked: %+v, %v", run, err)
	}
}

func TestVerifiedReader(t *testing.T) {
	data := randomBytes(10000)
	good := manifest.Manifest{Size: int64(len(data))}
	sumReader := newVerifiedReader(bytes.NewReader(data), good.Size, shaHex(data))
	if _, err := io.ReadAll(sumReader); err != nil {
		t.Fatalf("good object: %v", err)
	}
	for name, r := range map[string]*verifiedReader{
		"short": newVerifiedReader(bytes.NewReader(data[:9999]), 10000, shaHex(data)),
		"long":  newVerifiedReader(bytes.NewReader(append(bytes.Clone(data), 1)), 10000, shaHex(data)),
		"sha":   newVerifiedReader(bytes.NewReader(data), 10000, shaHex(data[1:])),
	} {
		if _, err := io.ReadAll(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// An encrypted object's manifest records a CRC32C: the reader checks it,
// through Read and through WriteTo, and refuses a flipped byte.
func TestVerifiedReaderCRC32C(t *testing.T) {
	data := randomBytes(3<<20 + 5)
	sum := storedSum(true)
	sum.Write(data)
	m := &manifest.Manifest{Size: int64(len(data)), CRC32C: sum.Hex()}
	if sum.Name() != "crc32c" || len(m.CRC32C) != 8 {
		t.Fatalf("storedSum(true) = %s %q", sum.Name(), m.CRC32C)
	}
	if got, err := io.ReadAll(newObjectReader(bytes.NewReader(data), m)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("good object: %v", err)
	}
	var got bytes.Buffer
	if _, err := newObjectReader(&partsReader{data, 1 << 20}, m).WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("good object through WriteTo: %v", err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	_, err := io.ReadAll(newObjectReader(bytes.NewReader(bad), m))
	var ce *checksumError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "crc32c") {
		t.Errorf("flipped byte: %v", err)
	}
	got.Reset()
	if _, err := newObjectReader(&partsReader{bad, 1 << 20}, m).WriteTo(&got); !errors.As(err, &ce) || int64(got.Len()) >= m.Size {
		t.Errorf("flipped byte through WriteTo: %v, %d bytes delivered", err, got.Len())
	}
}

// Through Read, the read that completes a bad object returns none of its
// bytes: the reader never receives the whole of it.
func TestVerifiedReaderWithholdsTheEnd(t *testing.T) {
	data := randomBytes(100 << 10)
	bad := bytes.Clone(data)
	bad[10] ^= 1
	for name, c := range map[string]struct {
		src  []byte
		size int64
	}{"flipped byte": {bad, int64(len(data))}, "short": {data[:len(data)-1], int64(len(data))}, "long": {data, int64(len(data) - 1)}} {
		r := newVerifiedReader(bytes.NewReader(c.src), c.size, shaHex(data))
		got, err := io.ReadAll(r)
		var ce *checksumError
		if !errors.As(err, &ce) || r.Failed() == nil {
			t.Errorf("%s: err = %v, Failed() = %v", name, err, r.Failed())
		}
		if int64(len(got)) >= c.size || !bytes.Equal(got, c.src[:len(got)]) {
			t.Errorf("%s: %d bytes delivered of a bad object of %d", name, len(got), c.size)
		}
	}
	r := newVerifiedReader(bytes.NewReader(data), int64(len(data)), shaHex(data))
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) || r.Failed() != nil {
		t.Fatalf("good object: %d bytes, %v", len(got), err)
	}
}

// partsReader hands out its data in parts through WriteTo, as a parallel
// download does.
type partsReader struct {
	data []byte
	part int
}

func (p *partsReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	return n, nil
}

func (p *partsReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(p.data) > 0 {
		n, err := w.Write(p.data[:min(p.part, len(p.data))])
		total += int64(n)
		p.data = p.data[n:]
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Through WriteTo (whole parts, hashed beside the write) a good object
// arrives whole, and a bad one never delivers its last part: the writer
// (a server being restored) never gets a complete bad body.
func TestVerifiedReaderWriteTo(t *testing.T) {
	data := randomBytes(5<<20 + 123)
	const part = 2 << 20
	var got bytes.Buffer
	n, err := newVerifiedReader(&partsReader{data, part}, int64(len(data)), shaHex(data)).WriteTo(&got)
	if err != nil || n != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("good object: %d bytes, err %v", n, err)
	}
	bad := bytes.Clone(data)
	bad[part+7] ^= 1
	for name, c := range map[string]struct {
		src  []byte
		size int64
	}{"flipped byte": {bad, int64(len(data))}, "short": {data[:len(data)-1], int64(len(data))}, "long": {data, int64(len(data) - 1)}} {
		got.Reset()
		_, err := io.Copy(&got, newVerifiedReader(&partsReader{c.src, part}, c.size, shaHex(data)))
		var ce *checksumError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v", name, err)
		}
		if int64(got.Len()) >= c.size {
			t.Errorf("%s: %d bytes delivered of a bad object of %d", name, got.Len(), c.size)
		}
	}
}

// An etcd restore writes the db file in one pass; a corrupt object fails
// the read that reaches its end, and no file is left for etcdutl.
func TestEtcdRestoreOfCorruptObjectLeavesNoFile(t *testing.T) {
	db := append(randomBytes(512*8), make([]byte, 32)...)
	sum := sha256.Sum256(db[:512*8])
	copy(db[512*8:], sum[:])
	src := &source{data: db, failAt: -1}
	d, b := standalone(t, src, "zstd")
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.Storage.Path, filepath.FromSlash(run.Object))
	data, _ := os.ReadFile(path)
	data[len(data)-20] ^= 0xff
	os.WriteFile(path, data, 0o644)
	d.Target = nil // the real etcd target: it only writes a file here
	b.Etcd = &config.EtcdSource{Endpoints: []string{"http://127.0.0.1:1"}}
	out := filepath.Join(t.TempDir(), "restored.db")
	_, err = Restore(context.Background(), d, b, RestoreOptions{RestoreOptions: plugin.RestoreOptions{OutFile: out}})
	if err == nil {
		t.Fatal("a corrupt etcd backup was restored")
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Errorf("the db file of a corrupt backup was left behind (%v)", err)
	}
}

// One pass where a bad object cannot restore anything: an etcd db file,
// and a server that takes a snapshot whole, when the object is stored
// uncompressed; every other restore checks the object first.
func TestRestoresInOnePass(t *testing.T) {
	snap, kv := &plugin.ConsulSnapshot{}, &plugin.ConsulKV{}
	for _, c := range []struct {
		name   string
		target plugin.Target
		typ    string
		comp   string
		want   bool
	}{
		{"consul_snapshot, none", snap, config.TypeConsulSnapshot, "none", true},
		{"consul_snapshot, zstd", snap, config.TypeConsulSnapshot, "zstd", false},
		{"nomad_snapshot, none", &plugin.NomadSnapshot{}, config.TypeNomadSnapshot, "none", true},
		{"vault_raft, none", &plugin.VaultRaft{}, config.TypeVaultRaft, "none", true},
		{"consul_kv, none", kv, config.TypeConsulKV, "none", false},
		{"etcd, zstd", &plugin.Etcd{}, config.TypeEtcd, "zstd", true},
	} {
		b := &config.Backup{Type: c.typ, Compression: c.comp}
		if got := restoresInOnePass(c.target, b, &manifest.Manifest{Compression: c.comp}); got != c.want {
			t.Errorf("%s: one pass = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLongRunStillCleansUp: the work after a run (record, lock release)
// gets its time from when it starts. A run longer than cleanupTimeout once
// found that time spent already: its record was not written and its lock
// was left held, so the next run was skipped.
func TestLongRunStillCleansUp(t *testing.T) {
	defer func(d time.Duration) { cleanupTimeout = d }(cleanupTimeout)
	cleanupTimeout = 100 * time.Millisecond
	src := &sleepySource{source: source{data: randomBytes(64 << 10), failAt: -1}, delay: 4 * cleanupTimeout}
	d, b := standalone(t, &src.source, "none")
	d.Target = func(*config.Backup, string) (plugin.Target, error) { return src, nil }
	run, err := Run(context.Background(), d, b, RunOptions{})
	if err != nil || run.Status != record.Succeeded {
		t.Fatalf("run %+v: %v", run, err)
	}
	s, _ := local.New(b.Storage.Path)
	last, err := (&record.Store{S: s}).Last(context.Background(), "unit", record.KindBackup)
	if err != nil || last == nil || last.Status != record.Succeeded || last.ID != run.ID {
		t.Fatalf("the record of a run longer than cleanupTimeout: %+v, %v", last, err)
	}
	locker, err := d.locker(b, s)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := locker.Acquire(context.Background(), b.Lock.Key, lockHolder(), time.Second, 0)
	if err != nil {
		t.Fatalf("the lock after the run: %v", err)
	}
	lease.Release(context.Background())
}

// sleepySource takes delay before its bytes.
type sleepySource struct {
	source
	delay time.Duration
}

func (s *sleepySource) Snapshot(ctx context.Context, w io.Writer, o plugin.SnapshotOptions) (plugin.Source, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.source.Snapshot(ctx, w, o)
}
