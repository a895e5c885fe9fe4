// Package lock makes sure only one run of a backup works at a time: a
// Consul lock on the control Consul, or an OS file lock in standalone mode.
package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Holder says who holds a lock; it is the lock's value.
type Holder struct {
	AllocID   string    `json:"alloc_id,omitempty"`
	Node      string    `json:"node,omitempty"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

func (h Holder) String() string {
	who := fmt.Sprintf("pid %d on %s", h.PID, h.Host)
	if h.AllocID != "" {
		who = fmt.Sprintf("allocation %s on node %s", h.AllocID, h.Node)
	}
	return fmt.Sprintf("%s since %s", who, h.StartedAt.UTC().Format(time.RFC3339))
}

// Same reports whether h and o are the same run (the times compared as
// instants: one may have come back from JSON).
func (h Holder) Same(o Holder) bool {
	return h.AllocID == o.AllocID && h.Node == o.Node && h.Host == o.Host && h.PID == o.PID && h.StartedAt.Equal(o.StartedAt)
}

// Me describes this process. Nomad sets NOMAD_ALLOC_ID; the compiled job
// sets VIGIL_NODE to the node's name.
func Me(now time.Time) Holder {
	host, _ := os.Hostname()
	return Holder{AllocID: os.Getenv("NOMAD_ALLOC_ID"), Node: os.Getenv("VIGIL_NODE"), Host: host, PID: os.Getpid(), StartedAt: now.UTC()}
}

// HeldError is returned by Acquire when someone else holds the lock past
// the wait. Holder is nil when it could not be read.
type HeldError struct {
	Key    string
	Holder *Holder
}

func (e *HeldError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("lock: %s is held by another run", e.Key)
	}
	return fmt.Sprintf("lock: %s is held by %s", e.Key, e.Holder)
}

// IsHeld reports whether err is a HeldError and returns it.
func IsHeld(err error) (*HeldError, bool) {
	var h *HeldError
	ok := errors.As(err, &h)
	return h, ok
}

// Lease is a held lock.
type Lease interface {
	// Lost is closed if the lock is lost while held (Consul session
	// invalidated, or its renewals failing for a TTL); the run must stop
	// then.
	Lost() <-chan struct{}
	// Why says why the lock was lost, once Lost is closed; nil before.
	Why() error
	// Release gives the lock up. It is safe to call more than once.
	Release(ctx context.Context) error
}

// Locker takes locks.
//
// Error contract: Acquire returns a Lease, or a *HeldError when the lock is
// still held by someone else after wait (zero means one attempt), or
// another error when the lock could not be tried at all.
type Locker interface {
	Acquire(ctx context.Context, key string, me Holder, ttl, wait time.Duration) (Lease, error)
}
