package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

// fakeKV answers List as Consul's KV does: a blocking query returns when
// the index moves past WaitIndex, or after WaitTime.
type fakeKV struct {
	mu      sync.Mutex
	pairs   map[string]*consul.KVPair
	index   uint64
	changed chan struct{}
	lists   int
	// filtered marks answers as filtered by ACLs, as Consul does when the
	// token may not read every key under the prefix.
	filtered bool
}

func (f *fakeKV) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func newFakeKV() *fakeKV {
	return &fakeKV{pairs: map[string]*consul.KVPair{}, changed: make(chan struct{}), index: 1}
}

func (f *fakeKV) put(key string, v any) {
	b, _ := json.Marshal(v)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	f.pairs[key] = &consul.KVPair{Key: key, Value: b, ModifyIndex: f.index}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeKV) List(prefix string, q *consul.QueryOptions) (consul.KVPairs, *consul.QueryMeta, error) {
	f.mu.Lock()
	f.lists++
	if q.WaitIndex >= f.index {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(q.WaitTime):
		case <-q.Context().Done():
			return nil, nil, q.Context().Err()
		}
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	var out consul.KVPairs
	for k, p := range f.pairs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, p)
		}
	}
	return out, &consul.QueryMeta{LastIndex: f.index, ResultsFilteredByACLs: f.filtered}, nil
}

// historyBook serves histories and counts the reads.
type historyBook struct {
	record.Book
	mu     sync.Mutex
	runs   map[string][]record.Run
	reads  map[string]int
	denied map[string]bool
}

func (h *historyBook) History(_ context.Context, backup string) ([]record.Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads[backup]++
	return h.runs[backup], nil
}

func (h *historyBook) Register(context.Context, string, time.Time) error { return nil }

// Last refuses the backups in denied, as Consul refuses a key the token
// may not read.
func (h *historyBook) Last(_ context.Context, backup, _ string) (*record.Run, error) {
	if h.denied[backup] {
		return nil, errors.New("Unexpected response code: 403 (Permission denied)")
	}
	return nil, nil
}

func (h *historyBook) Registered(context.Context, string) (*time.Time, error) { return nil, nil }

func (h *historyBook) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.reads {
		n += c
	}
	return n
}

// A fleet is read in one request for its latest records plus one history
// per backup; after that, a run landing costs one answer to the blocking
// query and one history read of its backup, and nothing else is read.
func TestWatcherReadsOnlyWhatChanged(t *testing.T) {
	const n = 300
	kv, book := newFakeKV(), &historyBook{runs: map[string][]record.Run{}, reads: map[string]int{}}
	var backups []config.Backup
	t0 := time.Now().Add(-time.Hour).UTC()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("b%03d", i)
		backups = append(backups, config.Backup{Name: name, Type: config.TypeConsulKV, Schedule: "0 0 1 1 *"})
		end := t0.Add(time.Second)
		r := record.Run{Backup: name, Kind: record.KindBackup, ID: "r1", Status: record.Succeeded, StartedAt: t0, FinishedAt: &end, Size: 100}
		kv.put(record.KVPrefix+name+"/last", r)
		book.runs[name] = []record.Run{r}
	}
	w := &Watcher{Backups: backups, Book: book, KV: kv, Since: t0, Log: hclog.NewNullLogger()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if kv.lists != 1 || book.total() != n {
		t.Fatalf("first read: %d lists, %d history reads; want 1 and %d", kv.lists, book.total(), n)
	}
	seen := make(chan []Status, 16)
	go w.Watch(ctx, func(st []Status) { seen <- st })
	time.Sleep(200 * time.Millisecond) // the watch's first query, then blocked

	end := time.Now().UTC()
	failed := record.Run{Backup: "b007", Kind: record.KindBackup, ID: "r2", Status: record.Failed, StartedAt: end.Add(-time.Second), FinishedAt: &end, Error: "boom"}
	book.mu.Lock()
	book.runs["b007"] = append(book.runs["b007"], failed)
	book.mu.Unlock()
	listsBefore := kv.listCount()
	kv.put(record.KVPrefix+"b007/last", failed)
	deadline := time.After(2 * time.Second)
	for {
		select {
		case st := <-seen:
			for _, s := range st {
				if s.Backup == "b007" && s.Last != nil && s.Last.Status == record.Failed {
					goto landed
				}
			}
		case <-deadline:
			t.Fatal("the failed run was not seen within 2 s")
		}
	}
landed:
	time.Sleep(100 * time.Millisecond)
	if got := kv.listCount() - listsBefore; got > 2 {
		t.Errorf("one run landing cost %d lists", got)
	}
	book.mu.Lock()
	reads := book.reads["b007"]
	book.mu.Unlock()
	if reads != 2 || book.total() != n+1 {
		t.Errorf("history reads after one run landed: b007 %d, all %d; want 2 and %d", reads, book.total(), n+1)
	}
	if d := w.spark("b007").Desc; !strings.Contains(d, "duration: latest 1.0s, lowest 1.0s, highest 1.0s over 2 runs") {
		t.Errorf("b007's chart does not include the run that landed: %s", d)
	}
}

// The leader writes a check again only when its state, output or notes
// moved.
func TestWrittenChecksOnlyChanges(t *testing.T) {
	st := []Status{{Backup: "a", State: Passing, Output: "ok"}, {Backup: "b", State: Critical, Output: "boom"}}
	w := Written{}
	if got := w.Changed(Checks("n", st)); len(got) != 2 {
		t.Fatalf("first write: %d checks", len(got))
	}
	if got := w.Changed(Checks("n", st)); len(got) != 0 {
		t.Fatalf("nothing changed, yet %d checks written", len(got))
	}
	st[1].State, st[1].Output = Passing, "ok again"
	if got := w.Changed(Checks("n", st)); len(got) != 1 || got[0].CheckID != CheckID("b") {
		t.Fatalf("one change: %+v", got)
	}
}

// A backup missing from a listing Consul filtered is read on its own: a
// token that may not read its records is an error naming the rule, never
// a backup that "never ran" (a warning, healthy) while its last run
// failed.
func TestWatcherRefusedRecordsAreAnError(t *testing.T) {
	kv := newFakeKV()
	kv.filtered = true
	book := &historyBook{runs: map[string][]record.Run{}, reads: map[string]int{}, denied: map[string]bool{"hidden": true}}
	backups := []config.Backup{{Name: "seen", Schedule: "0 0 1 1 *"}, {Name: "hidden", Schedule: "0 0 1 1 *"}, {Name: "new", Schedule: "0 0 1 1 *"}}
	end := time.Now()
	kv.put(record.KVPrefix+"seen/last", record.Run{Backup: "seen", Kind: record.KindBackup, Status: record.Succeeded, StartedAt: end, FinishedAt: &end})
	w := &Watcher{Backups: backups, Book: book, KV: kv, Since: end, ReadOnly: true, Log: hclog.NewNullLogger()}
	err := w.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), `key_prefix "vigil/runs/hidden/" read`) {
		t.Fatalf("records the token may not read: %v", err)
	}
	delete(book.denied, "hidden")
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatalf("backups with no records yet, in a filtered listing: %v", err)
	}
}
