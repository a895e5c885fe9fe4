package record

import (
	"context"
	"fmt"
	"time"
)

// Routed sends each backup's records to that backup's own Book: in a
// standalone configuration every backup keeps its records beside its
// backups, in its own storage.
type Routed map[string]Book

var _ Book = Routed(nil)

func (r Routed) book(backup string) (Book, error) {
	b, ok := r[backup]
	if !ok {
		return nil, fmt.Errorf("record: no records for backup %q", backup)
	}
	return b, nil
}

// Start implements Book.
func (r Routed) Start(ctx context.Context, run Run) error {
	b, err := r.book(run.Backup)
	if err != nil {
		return err
	}
	return b.Start(ctx, run)
}

// Finish implements Book.
func (r Routed) Finish(ctx context.Context, run Run) error {
	b, err := r.book(run.Backup)
	if err != nil {
		return err
	}
	return b.Finish(ctx, run)
}

// Skip implements Book.
func (r Routed) Skip(ctx context.Context, run Run) error {
	b, err := r.book(run.Backup)
	if err != nil {
		return err
	}
	return b.Skip(ctx, run)
}

// Current implements Book.
func (r Routed) Current(ctx context.Context, backup, kind string) (*Run, error) {
	b, err := r.book(backup)
	if err != nil {
		return nil, err
	}
	return b.Current(ctx, backup, kind)
}

// Last implements Book.
func (r Routed) Last(ctx context.Context, backup, kind string) (*Run, error) {
	b, err := r.book(backup)
	if err != nil {
		return nil, err
	}
	return b.Last(ctx, backup, kind)
}

// History implements Book.
func (r Routed) History(ctx context.Context, backup string) ([]Run, error) {
	b, err := r.book(backup)
	if err != nil {
		return nil, err
	}
	return b.History(ctx, backup)
}

// Register implements Book.
func (r Routed) Register(ctx context.Context, backup string, at time.Time) error {
	b, err := r.book(backup)
	if err != nil {
		return err
	}
	return b.Register(ctx, backup, at)
}

// Registered implements Book.
func (r Routed) Registered(ctx context.Context, backup string) (*time.Time, error) {
	b, err := r.book(backup)
	if err != nil {
		return nil, err
	}
	return b.Registered(ctx, backup)
}
