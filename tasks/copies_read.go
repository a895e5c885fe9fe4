package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/creds"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Copy is one destination of a backup opened for reading: the backup as
// stored there, its store and its catalog, or why it could not be read.
type Copy struct {
	Backup  *config.Backup
	Store   store.Store
	Catalog Catalog
	Err     error
	sess    *creds.Session
}

// Name is the destination's storage name.
func (c *Copy) Name() string { return c.Backup.Storage.Name }

// Copies are a backup's destinations read at once: restores and drills
// take the first that holds a good copy of the chosen backup, list shows
// which hold each.
type Copies struct {
	List []*Copy
	// Merged is one catalog of every copy: an ID is good when any
	// destination holds it whole (the entry is the first such one's),
	// broken only when none does.
	Merged Catalog
}

// ReadCopies opens each destination of b, or only the one named from,
// and reads b's catalog there. A destination that cannot be opened or
// read keeps its error and the others are read: they may hold the
// backup. It fails when from names no destination of b, or when no
// destination could be read. Close releases the credentials.
func (d *Deps) ReadCopies(ctx context.Context, b *config.Backup, from string) (*Copies, error) {
	idx := []int{}
	for i := range b.Destinations() {
		idx = append(idx, i)
	}
	if from != "" {
		i := b.Destination(from)
		if i < 0 {
			var names []string
			for _, s := range b.Destinations() {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("tasks: -from %s: backup %s is not stored there; its storages are %s", from, b.Name, strings.Join(names, ", "))
		}
		idx = []int{i}
	}
	sigs, err := d.Signatures(b)
	if err != nil {
		return nil, err
	}
	cs := &Copies{}
	var errs []error
	for _, i := range idx {
		c := &Copy{Backup: b.At(i)}
		c.Store, c.sess, c.Err = d.OpenStore(ctx, c.Backup)
		if c.Err == nil {
			c.Catalog, c.Err = ReadCatalog(ctx, c.Store, sigs, b.Name)
		}
		if c.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Backup.Storage.Ref(), c.Err))
			if len(idx) > 1 {
				d.Log.Warn("a storage of this backup cannot be read; reading the others", "storage", c.Name(), "error", c.Err)
			}
		}
		cs.List = append(cs.List, c)
	}
	if len(errs) == len(idx) {
		cs.Close(ctx, d.Log)
		if len(errs) == 1 {
			return nil, errors.Unwrap(errs[0])
		}
		return nil, fmt.Errorf("tasks: no storage of %s can be read: %w", b.Name, errors.Join(errs...))
	}
	cs.Merged = merge(cs.List)
	return cs, nil
}

// merge is one catalog of every readable copy.
func merge(list []*Copy) Catalog {
	var out Catalog
	good := map[string]bool{}
	for _, c := range list {
		if c.Err != nil {
			continue
		}
		for _, e := range c.Catalog.Good {
			if !good[e.ID] {
				good[e.ID] = true
				out.Good = append(out.Good, e)
			}
		}
	}
	broken := map[string]bool{}
	for _, c := range list {
		if c.Err != nil {
			continue
		}
		for _, e := range c.Catalog.Broken {
			if !good[e.ID] && !broken[e.ID] {
				broken[e.ID] = true
				out.Broken = append(out.Broken, e)
			}
		}
		out.Orphans = append(out.Orphans, c.Catalog.Orphans...)
	}
	sortEntries(out.Good)
	sortEntries(out.Broken)
	return out
}

// Holder is the first destination that holds backup id whole, or nil.
func (cs *Copies) Holder(id string) *Copy {
	for _, c := range cs.List {
		if c.Err == nil && c.Catalog.has(id) {
			return c
		}
	}
	return nil
}

// Holders names the destinations that hold backup id whole, in order.
func (cs *Copies) Holders(id string) []string {
	var out []string
	for _, c := range cs.List {
		if c.Err == nil && c.Catalog.has(id) {
			out = append(out, c.Name())
		}
	}
	return out
}

// Records is where the backup's run records are read: the control
// Consul, or beside the backups in the first destination that opened.
func (cs *Copies) Records(d *Deps) record.Book {
	for _, c := range cs.List {
		if c.Store != nil {
			return d.book(c.Store)
		}
	}
	return d.Book
}

// Close releases every destination's credentials.
func (cs *Copies) Close(ctx context.Context, log hclog.Logger) {
	for _, c := range cs.List {
		closeSession(ctx, c.sess, log)
	}
}

// has reports whether the catalog holds backup id whole.
func (c Catalog) has(id string) bool {
	for _, e := range c.Good {
		if e.ID == id {
			return true
		}
	}
	return false
}

// firstReadable is the first copy that could be read; ReadCopies
// guarantees one.
func (cs *Copies) firstReadable() *Copy {
	for _, c := range cs.List {
		if c.Err == nil {
			return c
		}
	}
	return cs.List[0]
}
