package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/lock"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// VerifyOptions choose the backup a drill restores.
type VerifyOptions struct {
	// ID picks a backup; "" or "latest" picks the newest.
	ID string
	// From names the storage to read; "" reads the first of the backup's
	// storages that holds the chosen backup whole.
	From string
	// TempDir holds the drill's scratch copy and servers; "" is the
	// system's.
	TempDir string
	// DataKey, when set, is the plaintext data key of backup ID, from
	// the run that wrote it: a drill inside the backup job decrypts with
	// it, since that job's identity may not unwrap data keys. A scheduled
	// drill job unwraps through Transit, which proves the wrapped key too.
	DataKey []byte
}

// Verify runs a restore drill: pick the backup (it must be good), fetch it
// once into a scratch copy while checking its size and sha256 and its own
// internal checksums, restore that copy into a scratch place the target
// owns, run the spec's assertions, and record the result with the restore
// time (RTO: fetch and restore) and the backup's age (RPO). The error is
// non-nil exactly when the drill failed.
func Verify(ctx context.Context, d *Deps, b *config.Backup, opts VerifyOptions) (*record.Run, error) {
	cleanup := afterRun(ctx)
	cs, err := d.ReadCopies(ctx, b, opts.From)
	if err != nil {
		run := newDrillRun(d, b)
		return failEarly(cleanup, d, run, fmt.Errorf("verify %s: %w", b.Name, err), d.Log.With("backup", b.Name, "drill", run.ID))
	}
	defer cs.Close(cleanup, d.Log)
	// The drill reads the first storage that holds the backup it takes;
	// its record goes where the backup's records are.
	src := cs.List[0]
	if ch, err := Choose(cs.Merged, nil, b.Name, opts.ID, true); err == nil {
		src = cs.Holder(ch.ID)
		opts.ID = ch.ID
	}
	if src.Err != nil {
		src = cs.firstReadable()
	}
	return d.verifyIn(ctx, src.Backup, src.Store, cs.Records(d), opts)
}

func newDrillRun(d *Deps, b *config.Backup) *record.Run {
	start := d.Now().UTC()
	me := lock.Me(start)
	return &record.Run{Backup: b.Name, Kind: record.KindVerify, ID: manifest.NewID(start), StartedAt: start, AllocID: me.AllocID, Node: me.Node}
}

// verifyIn runs a drill against an open store and records it in book.
func (d *Deps) verifyIn(ctx context.Context, b *config.Backup, s store.Store, book record.Book, opts VerifyOptions) (*record.Run, error) {
	v := b.Verify
	if v == nil {
		v = &config.Verify{}
	}
	run := newDrillRun(d, b)
	log := d.Log.With("backup", b.Name, "drill", run.ID)
	if v.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, v.MaxDuration, errTimeout)
		defer cancel()
	}
	cleanup := afterRun(ctx)
	run.Status = record.Running
	if err := book.Start(ctx, *run); err != nil {
		return d.finish(cleanup, book, run, err, log)
	}
	result, err := drill(ctx, d, b, v, s, opts, run)
	if err == nil && len(result.Failed()) > 0 {
		err = errors.New(failureLine(b.Name, result))
	}
	if err != nil && !strings.HasPrefix(err.Error(), "verify "+b.Name) {
		err = fmt.Errorf("verify %s: %w", b.Name, cause(ctx, err))
	}
	return d.finish(cleanup, book, run, err, log)
}

func drill(ctx context.Context, d *Deps, b *config.Backup, v *config.Verify, s store.Store, opts VerifyOptions, run *record.Run) (*plugin.VerifyResult, error) {
	sigs, err := d.Signatures(b)
	if err != nil {
		return nil, err
	}
	m, err := FindBackup(ctx, s, sigs, b.Name, opts.ID)
	if err != nil {
		return nil, err
	}
	run.Object, run.Size, run.SHA256, run.CRC32C, run.Compression, run.Source = m.Object, m.Size, m.SHA256, m.CRC32C, m.Compression, m.Source
	run.Verify = &record.Verify{BackupID: m.ID, BackupTime: m.FinishedAt, BackupAge: run.StartedAt.Sub(m.FinishedAt), Storage: b.Storage.Name}
	// A drill restores into a scratch server it owns; only targets that
	// drill in place (Elasticsearch, into the configured cluster) need
	// the run's credentials for it.
	var t plugin.Target
	if plugin.DrillsInPlace(b.Type) {
		var sess *creds.Session
		t, sess, err = d.OpenTarget(ctx, b, v.MaxDuration)
		defer closeSession(context.WithoutCancel(ctx), sess, d.Log)
	} else {
		t, err = d.TargetFor(b, "", nil)
	}
	if err != nil {
		return nil, err
	}
	verifier, ok := t.(plugin.Verifier)
	if !ok {
		return nil, fmt.Errorf("no restore drill for %s backups", b.Type)
	}
	dir, err := os.MkdirTemp(opts.TempDir, "vigil-drill-")
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer os.RemoveAll(dir)
	restoreStart := time.Now()
	checker, _ := t.(plugin.Checker)
	path := filepath.Join(dir, "backup"+plugin.Extension(b.Type))
	decrypt := func(r io.Reader) (io.Reader, error) { return d.decryptFor(ctx, b, m, r) }
	if opts.DataKey != nil && m.ID == opts.ID {
		decrypt = func(r io.Reader) (io.Reader, error) { return decryptWith(m, opts.DataKey, r) }
	}
	if err := fetchChecked(ctx, s, b, m, decrypt, checker, path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer f.Close()
	res, err := verifier.Verify(ctx, f, v, plugin.VerifyOptions{Scratch: v.Scratch, TempDir: dir, Path: path, Log: d.Log})
	run.Verify.RestoreTime = time.Since(restoreStart)
	if err != nil {
		return nil, err
	}
	run.Verify.Values = res.Values
	for _, c := range res.Checks {
		run.Verify.Checks = append(run.Verify.Checks, record.Check{Name: c.Name, Passed: c.Passed, Detail: c.Detail})
	}
	return res, nil
}

// fetchChecked reads the object once from the store into path: its size
// and sha256 are checked against the manifest, and (when the target has
// one) the target's own integrity check runs on the decompressed bytes,
// all in that one pass and before any scratch server starts. A bad object
// is reported by what is wrong with the stored bytes first: a flipped byte
// may also break the decompression, but the checksum is the cause.
func fetchChecked(ctx context.Context, s store.Store, b *config.Backup, m *manifest.Manifest, decrypt func(io.Reader) (io.Reader, error), checker plugin.Checker, path string) error {
	rc, err := readBack(ctx, s, b, m)
	if err != nil {
		return err
	}
	defer rc.Close()
	raw := newObjectReader(rc, m)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	defer f.Close()

	// The stored bytes flow through raw (hashed) into a pipe; the other
	// end decompresses, checks and writes the scratch copy.
	pr, pw := io.Pipe()
	unpacked := make(chan error, 1)
	go func() {
		err := unpack(ctx, pr, m.Compression, decrypt, f, checker)
		pr.CloseWithError(err)
		unpacked <- err
	}()
	src := &readErrors{r: raw}
	if _, err := io.Copy(pw, src); err != nil && src.err == nil {
		// The unpacking side stopped early: read the rest, so the checksum
		// can say whether the stored bytes are what the manifest says.
		_, src.err = io.Copy(io.Discard, raw)
	}
	pw.CloseWithError(src.err)
	unpackErr := <-unpacked
	var bad *checksumError
	switch {
	case errors.As(src.err, &bad):
		return fmt.Errorf("checksum check failed, no restore attempted: %w", src.err)
	case src.err != nil:
		return fmt.Errorf("drill: read %s: %w", m.Object, src.err)
	case errors.Is(unpackErr, envelope.ErrTampered):
		return fmt.Errorf("decryption failed, no restore attempted: %w", unpackErr)
	case unpackErr != nil:
		return fmt.Errorf("integrity check failed, no restore attempted: %w", unpackErr)
	}
	return f.Close()
}

// readErrors remembers the error its reader gave, so a copy's error can be
// told apart from its writer's.
type readErrors struct {
	r   io.Reader
	err error
}

func (e *readErrors) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// unpack decrypts (each segment authenticated) and decompresses r into w,
// and runs the target's integrity check on the same bytes.
func unpack(ctx context.Context, r io.Reader, compression string, decrypt func(io.Reader) (io.Reader, error), w io.Writer, checker plugin.Checker) error {
	if decrypt != nil {
		var err error
		if r, err = decrypt(r); err != nil {
			return err
		}
	}
	if compression == "zstd" {
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	if checker == nil {
		_, err := io.Copy(w, r)
		return err
	}
	cr, cw := io.Pipe()
	checked := make(chan error, 1)
	go func() {
		err := checker.CheckOffline(ctx, cr)
		if err == nil {
			_, err = io.Copy(io.Discard, cr)
		}
		cr.CloseWithError(err)
		checked <- err
	}()
	_, err := io.Copy(io.MultiWriter(w, cw), r)
	cw.CloseWithError(err)
	if cerr := <-checked; cerr != nil {
		return cerr
	}
	return err
}

// failureLine is a failed drill's reason in one line, e.g.
// "verify consul-prod: key service/web/config missing (restored 1,204 keys)".
func failureLine(name string, res *plugin.VerifyResult) string {
	var parts []string
	for _, c := range res.Failed() {
		parts = append(parts, c.Detail)
	}
	return fmt.Sprintf("verify %s: %s", name, strings.Join(parts, "; "))
}
