package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/tasks/store"
)

// Store keeps records as JSON files beside the backups (standalone mode):
// <backup>/runs/{current,current-verify,last,verify,registered}.json and
// <backup>/runs/history/.
type Store struct {
	S store.Store
	// Keep is how many past runs each backup keeps (0: DefaultHistory).
	Keep int
}

var _ Book = (*Store)(nil)

func runsDir(backup string) string { return backup + "/runs/" }

func (s *Store) put(ctx context.Context, key string, r Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := s.S.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("record: write %s: %w", key, err)
	}
	return nil
}

func (s *Store) get(ctx context.Context, key string) (*Run, error) {
	rc, err := s.S.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	defer rc.Close()
	var r Run
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	return &r, nil
}

func lastFile(backup, kind string) string {
	if kind == KindVerify {
		return runsDir(backup) + "verify.json"
	}
	return runsDir(backup) + "last.json"
}

func currentFile(backup, kind string) string {
	if kind == KindVerify {
		return runsDir(backup) + "current-verify.json"
	}
	return runsDir(backup) + "current.json"
}

// Start implements Book.
func (s *Store) Start(ctx context.Context, r Run) error {
	return s.put(ctx, currentFile(r.Backup, r.Kind), r)
}

// Finish implements Book: the last record, then the current one cleared,
// then the history, so a failed history write leaves the run finished.
func (s *Store) Finish(ctx context.Context, r Run) error {
	if err := s.put(ctx, lastFile(r.Backup, r.Kind), r); err != nil {
		return err
	}
	cur, err := s.Current(ctx, r.Backup, r.Kind)
	if err != nil {
		return err
	}
	if cur != nil && cur.ID == r.ID && cur.Kind == r.Kind {
		if err := s.S.Delete(ctx, currentFile(r.Backup, r.Kind)); err != nil {
			return err
		}
	}
	return s.Skip(ctx, r)
}

// Skip implements Book.
func (s *Store) Skip(ctx context.Context, r Run) error {
	dir := runsDir(r.Backup) + "history/"
	if err := s.put(ctx, dir+historyName(r)+".json", r); err != nil {
		return err
	}
	objs, err := s.S.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("record: list %s: %w", dir, err)
	}
	for len(objs) > limit(s.Keep) {
		if err := s.S.Delete(ctx, objs[0].Key); err != nil {
			return fmt.Errorf("record: trim %s: %w", dir, err)
		}
		objs = objs[1:]
	}
	return nil
}

// Current implements Book.
func (s *Store) Current(ctx context.Context, backup, kind string) (*Run, error) {
	return s.get(ctx, currentFile(backup, kind))
}

// Last implements Book.
func (s *Store) Last(ctx context.Context, backup, kind string) (*Run, error) {
	return s.get(ctx, lastFile(backup, kind))
}

// History implements Book.
func (s *Store) History(ctx context.Context, backup string) ([]Run, error) {
	objs, err := s.S.List(ctx, runsDir(backup)+"history/")
	if err != nil {
		return nil, fmt.Errorf("record: list history: %w", err)
	}
	var out []Run
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		r, err := s.get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	sortRuns(out)
	return out, nil
}

// registration is registered.json.
type registration struct {
	At time.Time `json:"registered_at"`
}

// Register implements Book; the first time recorded stands.
func (s *Store) Register(ctx context.Context, backup string, at time.Time) error {
	prev, err := s.Registered(ctx, backup)
	if err != nil || prev != nil {
		return err
	}
	b, _ := json.Marshal(registration{At: at.UTC()})
	key := runsDir(backup) + "registered.json"
	if err := s.S.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("record: write %s: %w", key, err)
	}
	return nil
}

// Registered implements Book.
func (s *Store) Registered(ctx context.Context, backup string) (*time.Time, error) {
	key := runsDir(backup) + "registered.json"
	rc, err := s.S.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	defer rc.Close()
	var reg registration
	if err := json.NewDecoder(io.LimitReader(rc, 1<<16)).Decode(&reg); err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	return &reg.At, nil
}
