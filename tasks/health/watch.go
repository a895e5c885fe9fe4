package health

import (
	"context"
	"sort"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

// refreshEvery bounds how long a status can be stale when no record
// changes: overdue is a matter of time passing, not of a new record.
const refreshEvery = 5 * time.Second

// pollEvery is how often a Watcher without a KV to block on (records in
// the backups' storage) reads them again: each read lists the stores.
const pollEvery = 15 * time.Second

// KV is the blocking list Watch waits on. *consul.KV satisfies it.
type KV interface {
	List(prefix string, q *consul.QueryOptions) (consul.KVPairs, *consul.QueryMeta, error)
}

// Watcher keeps every backup's health current from the run records.
type Watcher struct {
	Backups []config.Backup
	Book    record.Book
	// KV, when set, is blocked on for record changes; without it (records
	// beside the backups) Watch reads them every pollEvery.
	KV    KV
	Since time.Time
	// ReadOnly keeps Refresh from recording the registration of backups
	// seen for the first time.
	ReadOnly bool
	Now      func() time.Time
	Log      hclog.Logger

	mu       sync.RWMutex
	statuses map[string]Status
	loaded   bool
}

// Refresh reads every backup's records and evaluates them.
func (w *Watcher) Refresh(ctx context.Context) error {
	out := map[string]Status{}
	now := w.now()
	for i := range w.Backups {
		b := &w.Backups[i]
		rec, err := Load(ctx, w.Book, b.Name)
		if err != nil {
			return err
		}
		if rec.Registered == nil && !w.ReadOnly {
			// First sight of a backup nobody registered (its job was run
			// with `nomad job run`): from now on it is expected to run.
			if err := w.Book.Register(ctx, b.Name, w.Since); err != nil {
				w.Log.Warn("recording the backup's registration failed", "backup", b.Name, "error", err)
			}
		}
		out[b.Name] = Evaluate(b, rec, w.Since, now)
	}
	w.mu.Lock()
	w.statuses, w.loaded = out, true
	w.mu.Unlock()
	return nil
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Statuses returns every backup's status, by name.
func (w *Watcher) Statuses() []Status {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Status, 0, len(w.statuses))
	for _, s := range w.statuses {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Backup < out[j].Backup })
	return out
}

// Get returns one backup's status.
func (w *Watcher) Get(name string) (Status, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s, ok := w.statuses[name]
	return s, ok
}

// Ready reports whether a first refresh has succeeded.
func (w *Watcher) Ready() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.loaded
}

// Watch refreshes whenever a record changes (a Consul blocking query on
// the records' prefix) and at least every few seconds, and calls changed
// after each refresh. It returns when ctx ends.
func (w *Watcher) Watch(ctx context.Context, changed func([]Status)) {
	if w.KV == nil {
		w.poll(ctx, changed)
		return
	}
	var index uint64
	for ctx.Err() == nil {
		q := (&consul.QueryOptions{WaitIndex: index, WaitTime: refreshEvery}).WithContext(ctx)
		_, meta, err := w.KV.List(record.KVPrefix, q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.Log.Warn("watching run records failed; retrying", "error", err)
			sleep(ctx, time.Second)
			continue
		}
		if meta.LastIndex < index {
			index = 0 // the index went backwards: Consul was restored
		} else {
			index = meta.LastIndex
		}
		if err := w.Refresh(ctx); err != nil {
			if ctx.Err() == nil {
				w.Log.Warn("reading run records failed", "error", err)
			}
			continue
		}
		if changed != nil {
			changed(w.Statuses())
		}
	}
}

// poll reads the records every pollEvery, for records with nothing to
// block on.
func (w *Watcher) poll(ctx context.Context, changed func([]Status)) {
	for ctx.Err() == nil {
		if err := w.Refresh(ctx); err != nil {
			if ctx.Err() == nil {
				w.Log.Warn("reading run records failed", "error", err)
			}
		} else if changed != nil {
			changed(w.Statuses())
		}
		sleep(ctx, pollEvery)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
