package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"
)

// RestoreOptions choose the backup and tune the target.
type RestoreOptions struct {
	// ID picks a backup; "" or "latest" picks the newest.
	ID string
	// From names the storage to read; "" reads the first of the backup's
	// storages that holds a good copy of the chosen backup.
	From string
	// ToToken, when set, is the token of the cluster restored into
	// (Consul, Nomad or Vault), instead of its CLI's variable: the
	// variable may be taken by the Vault that decrypts the backup.
	ToToken string
	// RestoreOptions.Force also takes a backup whose drill failed, by
	// its ID (Choose).
	plugin.RestoreOptions
	// Progress, when set, shows transfer progress (a terminal).
	Progress io.Writer
	// Confirm, when set, is asked with the chosen backup before anything
	// touches the target; false cancels the restore (ErrCancelled).
	Confirm func(Choice) bool
}

// ErrCancelled is returned when Confirm said no.
var ErrCancelled = errors.New("cancelled; nothing was changed")

// Restore restores one backup. The object's size and checksum are
// checked against the manifest before a bad object can restore anything:
// in one pass where it cannot (restoresInOnePass), else by reading it
// once to check it and again, checked on the way, to restore it.
func Restore(ctx context.Context, d *Deps, b *config.Backup, opts RestoreOptions) (*manifest.Manifest, error) {
	cs, err := d.ReadCopies(ctx, b, opts.From)
	if err != nil {
		return nil, err
	}
	defer cs.Close(afterRun(ctx), d.Log)
	cat := cs.Merged
	// The records may live on the very cluster being restored: without
	// them the drills' verdicts are unknown, and the restore goes on.
	verdicts, err := ReadVerdicts(ctx, cs.Records(d), b.Name)
	if err != nil {
		d.Log.Warn("the drill records could not be read: a backup whose drill failed is not told apart", "error", err)
		verdicts = nil
	}
	choice, err := Choose(cat, verdicts, b.Name, opts.ID, opts.Force)
	if err != nil {
		return nil, fmt.Errorf("tasks: restore %s: %w", b.Name, err)
	}
	src := cs.Holder(choice.ID)
	if len(b.Copies) > 0 || opts.From != "" {
		choice.From = src.Name() // said only when there was a choice
	}
	b, s := src.Backup, src.Store
	if opts.Confirm != nil && !opts.Confirm(choice) {
		return nil, ErrCancelled
	}
	m := choice.Manifest
	if opts.OutFile == "" && b.Type == config.TypeEtcd {
		opts.OutFile = m.ID + ".db"
	}
	if m.Object == "" {
		return nil, fmt.Errorf("tasks: restore %s/%s: the manifest names no data object", b.Name, m.ID)
	}
	// A restore writes where a backup only reads: it runs with the
	// operator's own credentials from the environment, never the backup's
	// read-only ones.
	sec, err := restoreSecrets(b, opts.ToToken)
	if err != nil {
		return nil, err
	}
	t, err := d.TargetFor(b, opts.To, sec)
	if err != nil {
		return nil, err
	}
	onePass := restoresInOnePass(t, b, m)
	if !onePass {
		if err := VerifyObject(ctx, s, b, m, opts.Progress); err != nil {
			return nil, fmt.Errorf("restore refused: %w", err)
		}
	}
	r, raw, closeFn, err := d.openObject(ctx, s, b, m, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	ro := opts.RestoreOptions
	if vr, ok := r.(*verifiedReader); ok && vr.digest() != nil {
		ro.Digest = vr.digest() // uncompressed: the target sees the bytes summed
	}
	if err := t.Restore(ctx, r, ro); err != nil {
		if bad := raw.Failed(); onePass && bad != nil {
			return nil, fmt.Errorf("restore refused: %w: the object was streamed in one pass and its last bytes withheld, so the server received an incomplete snapshot and restored none of it (%v)", bad, err)
		}
		return nil, err
	}
	return m, nil
}

// restoresInOnePass decides whether a restore may stream the object
// straight into the target, checked on the way, instead of reading it
// once beforehand to check it: when a bad object cannot restore anything.
// That holds for an etcd db file, which is written whole and removed if
// the object is bad before etcdutl sees it, and for a server that takes a
// snapshot whole before applying it (plugin.WholeRestorer) when the
// object is stored uncompressed: the checked reader withholds the last
// bytes of a bad object, and those are the snapshot's own (its gzip
// trailer and sums), which the server needs. Through zstd the withheld
// bytes could be only the frame's checksum, with every byte of a wrong
// snapshot already decompressed: those objects are checked first.
func restoresInOnePass(t plugin.Target, b *config.Backup, m *manifest.Manifest) bool {
	if b.Type == config.TypeEtcd {
		return true
	}
	w, ok := t.(plugin.WholeRestorer)
	return ok && w.RestoresWhole() && m.Compression == "none"
}

// VerifyObject reads the whole object and checks its size and checksum.
func VerifyObject(ctx context.Context, s store.Store, b *config.Backup, m *manifest.Manifest, progress io.Writer) error {
	rc, err := readBack(ctx, s, b, m)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr := newObjectReader(withProgress(rc, progress, "verify ", m.Size), m)
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return fmt.Errorf("tasks: verify %s: %w", m.Object, err)
	}
	return nil
}

// OpenObject returns the backup's decrypted, decompressed bytes, checked
// against the manifest as they pass: the read that reaches the end fails
// if the size or sha256 is wrong, and an encrypted object's segments are
// each authenticated before their bytes go on.
func (d *Deps) OpenObject(ctx context.Context, s store.Store, b *config.Backup, m *manifest.Manifest, progress io.Writer) (io.Reader, func(), error) {
	r, _, closeFn, err := d.openObject(ctx, s, b, m, progress)
	return r, closeFn, err
}

// openObject is OpenObject, with the reader that checks the stored bytes.
func (d *Deps) openObject(ctx context.Context, s store.Store, b *config.Backup, m *manifest.Manifest, progress io.Writer) (io.Reader, *verifiedReader, func(), error) {
	rc, err := readBack(ctx, s, b, m)
	if err != nil {
		return nil, nil, nil, err
	}
	raw := newObjectReader(withProgress(rc, progress, "restore", m.Size), m)
	var r io.Reader = raw
	closeFn := func() { rc.Close() }
	if r, err = d.decryptFor(ctx, b, m, r); err != nil {
		closeFn()
		return nil, nil, nil, err
	}
	if m.Compression == "zstd" {
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			rc.Close()
			return nil, nil, nil, fmt.Errorf("tasks: zstd: %w", err)
		}
		r = zr.IOReadCloser()
		closeFn = func() { zr.Close(); rc.Close() }
	}
	return r, raw, closeFn, nil
}

// readBack reads a backup's stored object ahead of its consumer, with
// the storage's range requests in flight (store.Download); the caller
// checks the bytes against the manifest as they pass.
func readBack(ctx context.Context, s store.Store, b *config.Backup, m *manifest.Manifest) (io.ReadCloser, error) {
	if p, ok := s.(store.Pinner); ok && m.ObjectVersion != "" {
		s = p.Pin(m.Object, m.ObjectVersion) // the version the backup wrote
	}
	o := store.DownloadOptions{Concurrency: b.Storage.DownloadConcurrency}
	if b.Storage.Kind == config.StorageLocal {
		o.Concurrency = 1 // a file reads fastest in order; ranges pay off over a network
	}
	return store.Download(ctx, s, m.Object, m.Size, o)
}

// restoreSecrets carries a token given for the cluster restored into.
func restoreSecrets(b *config.Backup, token string) (*plugin.Secrets, error) {
	if token == "" {
		return nil, nil
	}
	switch b.Type {
	case config.TypeConsulSnapshot, config.TypeConsulKV:
		return &plugin.Secrets{ConsulToken: token}, nil
	case config.TypeNomadSnapshot:
		return &plugin.Secrets{NomadToken: token}, nil
	case config.TypeVaultRaft:
		return &plugin.Secrets{VaultToken: token}, nil
	}
	return nil, fmt.Errorf("tasks: restore %s: a %s restore takes no token (-to-token-file)", b.Name, b.Type)
}
