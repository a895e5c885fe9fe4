package tasks

import (
	"context"
	"fmt"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Records is the book a backup's runs are recorded in: the control
// Consul's, or the one beside the backups in s (standalone).
func (d *Deps) Records(s store.Store) record.Book { return d.book(s) }

// ReadVerdicts reads what the drills said of each of a backup's IDs from
// its records: the history and the last drill (which stands even when
// its history write failed).
func ReadVerdicts(ctx context.Context, book record.Book, backup string) (record.Verdicts, error) {
	hist, err := book.History(ctx, backup)
	if err != nil {
		return nil, fmt.Errorf("tasks: read the drill records of %s: %w", backup, err)
	}
	last, err := book.Last(ctx, backup, record.KindVerify)
	if err != nil {
		return nil, fmt.Errorf("tasks: read the drill records of %s: %w", backup, err)
	}
	var lasts []record.Run
	if last != nil {
		lasts = append(lasts, *last)
	}
	return record.ReadVerdicts(hist, lasts), nil
}

// NewestVerifiedID is the next step after a failed restore or drill: the
// newest good backup whose own latest drill passed, other than not; ""
// when there is none or the store or records cannot be read (the step is
// advice, never a reason to fail again).
func NewestVerifiedID(ctx context.Context, d *Deps, b *config.Backup, not string) string {
	s, sess, err := d.OpenStore(ctx, b)
	defer closeSession(ctx, sess, d.Log)
	if err != nil {
		return ""
	}
	sigs, err := d.Signatures(b)
	if err != nil {
		return ""
	}
	cat, err := ReadCatalog(ctx, s, sigs, b.Name)
	if err != nil {
		return ""
	}
	vs, err := ReadVerdicts(ctx, d.book(s), b.Name)
	if err != nil {
		return ""
	}
	for _, e := range cat.Good {
		if e.ID != not && vs.Of(e.ID).Good() {
			return e.ID
		}
	}
	return ""
}
