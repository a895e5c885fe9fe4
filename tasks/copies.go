package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// dest is one destination of a backup run: the backup as stored there
// (its own retain and object lock), its open store, and what became of
// its copy.
type dest struct {
	b    *config.Backup
	s    store.Store
	sess *creds.Session
	// err is why this copy failed; nil while it may still be good.
	err error
	// m is its manifest, once written.
	m *manifest.Manifest
}

// name is the destination as messages give it: `s3 "primary"`.
func (x *dest) name() string { return fmt.Sprintf("%s %q", x.b.Storage.Kind, x.b.Storage.Name) }

// openDests opens the destinations after the first, which the run holds
// open already: one whose store cannot be opened is a failed copy, and
// the run goes on with the others.
func (d *Deps) openDests(ctx context.Context, b *config.Backup, first store.Store, firstSess *creds.Session) []*dest {
	ds := []*dest{{b: b.At(0), s: first, sess: firstSess}}
	for i := 1; i < len(b.Destinations()); i++ {
		x := &dest{b: b.At(i)}
		x.s, x.sess, x.err = d.OpenStore(ctx, x.b)
		ds = append(ds, x)
	}
	return ds
}

// closeDests releases the credentials of every destination but the
// first, whose session the run closes itself.
func closeDests(ctx context.Context, ds []*dest, log hclog.Logger) {
	for _, x := range ds[1:] {
		closeSession(ctx, x.sess, log)
	}
}

// live are the destinations whose copy may still be good.
func live(ds []*dest) []*dest {
	var out []*dest
	for _, x := range ds {
		if x.err == nil {
			out = append(out, x)
		}
	}
	return out
}

// noCopy is the error of a run that wrote no good copy anywhere: with one
// destination, its own error.
func noCopy(ds []*dest) error {
	if len(ds) == 1 {
		return ds[0].err
	}
	errs := make([]error, 0, len(ds))
	for _, x := range ds {
		errs = append(errs, fmt.Errorf("%s: %w", x.name(), x.err))
	}
	return fmt.Errorf("tasks: no destination holds a good copy: %w", errors.Join(errs...))
}

// recordCopies puts each destination's outcome in the run's record and,
// when some failed and some hold a good copy, makes the run Partial,
// naming what failed. A run with one destination records no copies.
func recordCopies(run *record.Run, ds []*dest) {
	if len(ds) < 2 {
		return
	}
	var good, bad []string
	for _, x := range ds {
		c := record.Copy{Storage: x.b.Storage.Name, Kind: x.b.Storage.Kind, Good: x.m != nil && x.err == nil}
		if c.Good {
			good = append(good, x.name())
		} else if x.err != nil {
			c.Error = x.err.Error()
			bad = append(bad, x.name()+": "+record.OneLine(c.Error))
		} else {
			c.Error = "no copy: the run failed before this storage's copy was written"
			bad = append(bad, x.name()+": "+record.OneLine(c.Error))
		}
		run.Copies = append(run.Copies, c)
	}
	if len(bad) > 0 && len(good) > 0 {
		run.Status = record.Partial
		run.Error = fmt.Sprintf("the backup was written to %s, but not to %s", strings.Join(good, ", "), strings.Join(bad, "; "))
	}
}

// firstGood is the first destination holding a good copy, or nil.
func firstGood(ds []*dest) *dest {
	for _, x := range ds {
		if x.m != nil && x.err == nil {
			return x
		}
	}
	return nil
}

// findInAny is backup id's manifest in the first live destination that
// holds it whole, or nil.
func findInAny(ctx context.Context, ds []*dest, sigs Signatures, backup, id string) *manifest.Manifest {
	for _, x := range live(ds) {
		if m, err := FindBackup(ctx, x.s, sigs, backup, id); err == nil && m.ID == id {
			return m
		}
	}
	return nil
}
