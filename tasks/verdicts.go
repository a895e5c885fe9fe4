package tasks

import (
	"context"
	"fmt"

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
