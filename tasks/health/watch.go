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
// changes: overdue is a matter of time passing, not of a new record. The
// statuses are evaluated again from what is held, with no request.
const refreshEvery = 5 * time.Second

// watchWait is how long one blocking query on the latest records waits
// for a change. Consul answers as soon as one lands; at steady state a
// watcher makes one request per watchWait, whatever the fleet's size.
const watchWait = 5 * time.Minute

// settle is the least time between two reads of the latest records: a
// burst of writes (apply registering a fleet, many runs ending on the same
// minute) is read once, not once per write.
const settle = 500 * time.Millisecond

// pollEvery is how often a Watcher without a KV to block on (records in
// the backups' storage) reads them again: each read lists the stores.
const pollEvery = 15 * time.Second

// KV is the blocking list Watch waits on. *consul.KV satisfies it.
type KV interface {
	List(prefix string, q *consul.QueryOptions) (consul.KVPairs, *consul.QueryMeta, error)
}

// Watcher keeps every backup's health current from the run records.
//
// With a KV (the control Consul) it reads every backup's latest records in
// one blocking query on record.KVPrefix, and a backup's history only when
// its newest finished run changes; it keeps of each history what Evaluate
// needs and a short trend. Without one (records beside the backups) it
// reads each backup's records through Book every pollEvery.
type Watcher struct {
	Backups []config.Backup
	Book    record.Book
	KV      KV
	Since   time.Time
	// ReadOnly keeps the Watcher from recording the registration of
	// backups seen for the first time.
	ReadOnly bool
	Now      func() time.Time
	Log      hclog.Logger

	mu         sync.RWMutex
	statuses   map[string]Status
	loaded     bool
	latest     map[string]*latest
	histIndex  map[string]uint64
	kept       map[string][]record.Run
	sparks     map[string]chart
	registered map[string]bool
}

func (w *Watcher) init() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.histIndex == nil {
		w.histIndex, w.kept, w.sparks, w.registered = map[string]uint64{}, map[string][]record.Run{}, map[string]chart{}, map[string]bool{}
	}
}

// Refresh reads every backup's records and evaluates them.
func (w *Watcher) Refresh(ctx context.Context) error {
	w.init()
	if w.KV != nil {
		if _, err := w.readLatest(ctx, 0, 0); err != nil {
			return err
		}
		w.evaluate()
		return nil
	}
	all := map[string]*latest{}
	for i := range w.Backups {
		name := w.Backups[i].Name
		rec, err := Load(ctx, w.Book, name)
		if err != nil {
			return err
		}
		if rec.Registered == nil && !w.ReadOnly && !w.registered[name] {
			w.register(ctx, name)
		}
		w.keep(name, 0, rec.History)
		rec.History = nil
		all[name] = &latest{recs: rec}
	}
	w.mu.Lock()
	w.latest = all
	w.mu.Unlock()
	w.evaluate()
	return nil
}

// register records the first sight of a backup nobody registered (its
// job was run with `nomad job run`): from now on it is expected to run.
func (w *Watcher) register(ctx context.Context, name string) {
	if err := w.Book.Register(ctx, name, w.Since); err != nil {
		w.Log.Warn("recording the backup's registration failed", "backup", name, "error", err)
		return
	}
	w.mu.Lock()
	w.registered[name] = true
	w.mu.Unlock()
}

// evaluate computes every status from the records held, at now.
func (w *Watcher) evaluate() {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]Status, len(w.Backups))
	for i := range w.Backups {
		b := &w.Backups[i]
		var rec Records
		if l := w.latest[b.Name]; l != nil {
			rec = l.recs
		}
		rec.History = w.kept[b.Name]
		out[b.Name] = Evaluate(b, rec, w.Since, now)
	}
	w.statuses, w.loaded = out, true
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

// keep holds what is needed of a backup's history (oldest first), read at
// index: what Evaluate reads, and the fleet page's chart of its trend,
// drawn once here rather than at every page view.
func (w *Watcher) keep(name string, index uint64, history []record.Run) {
	kept, spark := essential(history), sparkline(name, pointsOf(trend(history), record.KindBackup))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.histIndex[name], w.kept[name], w.sparks[name] = index, kept, spark
}

// spark is the fleet page's chart of a backup.
func (w *Watcher) spark(name string) chart {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if c, ok := w.sparks[name]; ok {
		return c
	}
	return sparkline(name, nil)
}

// Ready reports whether a first refresh has succeeded.
func (w *Watcher) Ready() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.loaded
}

// Watch keeps the statuses current until ctx ends, and calls changed
// after each evaluation: when a record lands (a Consul blocking query on
// the latest records) and every refreshEvery.
func (w *Watcher) Watch(ctx context.Context, changed func([]Status)) {
	w.init()
	if w.KV == nil {
		w.poll(ctx, changed)
		return
	}
	landed := make(chan struct{}, 1)
	go func() {
		var index uint64
		for ctx.Err() == nil {
			next, err := w.readLatest(ctx, index, watchWait)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				w.Log.Warn("watching run records failed; retrying", "error", err)
				sleep(ctx, time.Second)
				continue
			}
			index = next
			select {
			case landed <- struct{}{}:
			default:
			}
			sleep(ctx, settle)
		}
	}()
	tick := time.NewTicker(refreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-landed:
		case <-tick.C:
		}
		w.mu.RLock()
		read := w.latest != nil
		w.mu.RUnlock()
		if !read {
			continue
		}
		w.evaluate()
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
