package tasks

import (
	"context"
	"os"
	"strings"
	"testing"

	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/store"

	"github.com/vigil-backup/vigil/tasks/lock"
)

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func lockHolder() lock.Holder {
	return lock.Holder{Host: "other-host", PID: 4242, StartedAt: time.Now()}
}

// putTestBackup stores a good backup: a data object and its manifest.
func putTestBackup(t *testing.T, s store.Store, backup, id, data string) *manifest.Manifest {
	t.Helper()
	ctx := context.Background()
	key := backup + "/" + id + ".db"
	if err := s.Put(ctx, key, strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	ts, _ := manifest.IDTime(id)
	m := &manifest.Manifest{Format: manifest.Format, ID: id, Backup: backup, Type: "etcd", Object: key, Size: int64(len(data)),
		SHA256: shaHex([]byte(data)), Compression: "none", StartedAt: ts, FinishedAt: ts}
	if err := putManifest(ctx, s, m, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeFile(p, data string) error { return os.WriteFile(p, []byte(data), 0o600) }

func chtimes(t *testing.T, p string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
