package health

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/tasks/record"
	"golang.org/x/sync/errgroup"
)

// point is one past run as the status page's charts draw it: a few
// numbers, so a fleet's trends stay small in memory.
type point struct {
	At       time.Time
	Kind     string
	Status   string
	Duration time.Duration
	Size     int64
	RTO      time.Duration
	RPO      time.Duration
}

// trendPoints is how many recent runs each backup's trend keeps.
const trendPoints = 60

// trend is the finished runs of history (oldest first) as points, the
// last trendPoints of them.
func trend(history []record.Run) []point {
	var out []point
	for _, r := range history {
		if r.FinishedAt == nil || r.Status == record.Skipped {
			continue
		}
		p := point{At: r.StartedAt, Kind: r.Kind, Status: r.Status, Duration: r.Duration(), Size: r.Size}
		if r.Verify != nil {
			p.RTO, p.RPO = r.Verify.RestoreTime, r.Verify.BackupAge
		}
		out = append(out, p)
	}
	if len(out) > trendPoints {
		out = out[len(out)-trendPoints:]
	}
	return out
}

// essential is the part of a history Evaluate reads: the last run whose
// backup was written, and the drills that decide the newest verified-good
// backup and every newer one (record.Verdicts.Deciding), oldest first.
// Keeping only these keeps a thousand backups' state small.
func essential(history []record.Run) []record.Run {
	var out []record.Run
	for i := len(history) - 1; i >= 0; i-- {
		if h := history[i]; h.BackupWritten() && h.FinishedAt != nil {
			out = append(out, h)
			break
		}
	}
	out = append(out, record.ReadVerdicts(history).Deciding()...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out
}

// latest is one backup's latest records as read from the KV, and the
// index of the newest finished run (its last or verify key): when it
// moves, the backup's history is read again.
type latest struct {
	recs  Records
	index uint64
}

// parseLatest sorts the pairs under record.KVPrefix by backup. Keys it
// does not know (a history left by an older vigil) are skipped.
func parseLatest(pairs consul.KVPairs) map[string]*latest {
	out := map[string]*latest{}
	for _, p := range pairs {
		rest, ok := strings.CutPrefix(p.Key, record.KVPrefix)
		if !ok {
			continue
		}
		name, leaf, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(leaf, "/") {
			continue
		}
		l := out[name]
		if l == nil {
			l = &latest{}
			out[name] = l
		}
		switch leaf {
		case "current":
			l.recs.Current = decodeRun(p.Value)
		case "last":
			l.recs.Last = decodeRun(p.Value)
			l.index = max(l.index, p.ModifyIndex)
		case "verify":
			l.recs.LastVerify = decodeRun(p.Value)
			l.index = max(l.index, p.ModifyIndex)
		case "registered":
			if t, err := time.Parse(time.RFC3339Nano, string(p.Value)); err == nil {
				l.recs.Registered = &t
			}
		}
	}
	return out
}

func decodeRun(b []byte) *record.Run {
	r, err := record.Decode(b)
	if err != nil {
		return nil
	}
	return r
}

// readLatest reads the latest records of every backup in one request (a
// blocking query on index when wait > 0), and the history of each backup
// whose newest finished run changed since it was last read. It returns
// the index to block on next.
func (w *Watcher) readLatest(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
	q := (&consul.QueryOptions{WaitIndex: index, WaitTime: wait}).WithContext(ctx)
	pairs, meta, err := w.KV.List(record.KVPrefix, q)
	if err != nil {
		return index, err
	}
	found := parseLatest(pairs)
	var stale []string
	for i := range w.Backups {
		name := w.Backups[i].Name
		l := found[name]
		if l == nil || l.recs.Last == nil {
			if meta.ResultsFilteredByACLs {
				// Consul hid part of the listing (other configurations'
				// records, or this backup's): ask for the backup's own
				// last record, so a token that may not read it is an
				// error, not a backup that "never ran". (Its registered
				// key alone may show: serve may write that one key
				// without reading the rest.)
				if _, err := w.Book.Last(ctx, name, record.KindBackup); err != nil {
					return index, fmt.Errorf("health: read the records of %s: %w", name,
						plugin.ConsulDenied(err, fmt.Sprintf("key_prefix %q read", record.KVPrefix+name+"/")))
				}
			}
		}
		if l == nil {
			l = &latest{}
			found[name] = l
		}
		w.mu.RLock()
		prev, read := w.histIndex[name]
		w.mu.RUnlock()
		if !read || prev != l.index {
			stale = append(stale, name)
		}
		if l.recs.Registered == nil && !w.ReadOnly && !w.registered[name] {
			w.register(ctx, name)
		}
	}
	if err := w.readHistories(ctx, stale, found); err != nil {
		return index, err
	}
	w.mu.Lock()
	w.latest = found
	w.mu.Unlock()
	if meta.LastIndex < index {
		return 0, nil // the index went backwards: Consul was restored
	}
	return meta.LastIndex, nil
}

// historyReaders is how many histories are read at once: the first read
// of a fleet is a thousand of them.
const historyReaders = 4

// readHistories reads the histories of names and keeps what Evaluate and
// the charts need, with the index of the run they end at.
func (w *Watcher) readHistories(ctx context.Context, names []string, found map[string]*latest) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(historyReaders)
	for _, name := range names {
		index := found[name].index
		g.Go(func() error {
			hist, err := w.Book.History(gctx, name)
			if err != nil {
				return err
			}
			w.keep(name, index, hist)
			return nil
		})
	}
	return g.Wait()
}
