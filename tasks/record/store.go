package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-backup/vigil/tasks/store"
)

// Store keeps records as JSON files beside the backups (standalone mode):
// <backup>/runs/{current,last,verify}.json and <backup>/runs/history/.
type Store struct {
	S store.Store
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

// Start implements Book.
func (s *Store) Start(ctx context.Context, r Run) error {
	return s.put(ctx, runsDir(r.Backup)+"current.json", r)
}

// Finish implements Book.
func (s *Store) Finish(ctx context.Context, r Run) error {
	if err := s.put(ctx, lastFile(r.Backup, r.Kind), r); err != nil {
		return err
	}
	if err := s.Skip(ctx, r); err != nil {
		return err
	}
	cur, err := s.Current(ctx, r.Backup)
	if err != nil || cur == nil || cur.ID != r.ID || cur.Kind != r.Kind {
		return err
	}
	return s.S.Delete(ctx, runsDir(r.Backup)+"current.json")
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
	for len(objs) > HistoryLimit {
		if err := s.S.Delete(ctx, objs[0].Key); err != nil {
			return fmt.Errorf("record: trim %s: %w", dir, err)
		}
		objs = objs[1:]
	}
	return nil
}

// Current implements Book.
func (s *Store) Current(ctx context.Context, backup string) (*Run, error) {
	return s.get(ctx, runsDir(backup)+"current.json")
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
