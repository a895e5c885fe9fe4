package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// lockDelay is how long Consul keeps a lock free after its session is
// invalidated, so a holder that lost its session has stopped before another
// run starts. Consul's default is 15s; runs stop within a second of losing
// the session, so 5s is enough.
const lockDelay = 5 * time.Second

// Consul locks with api.Lock on the control Consul.
type Consul struct {
	Client *consul.Client
}

var _ Locker = (*Consul)(nil)

// Acquire implements Locker.
func (c *Consul) Acquire(ctx context.Context, key string, me Holder, ttl, wait time.Duration) (Lease, error) {
	value, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	l, err := c.Client.LockOpts(&consul.LockOptions{
		Key:            key,
		Value:          value,
		SessionName:    "vigil " + key,
		SessionTTL:     ttl.String(),
		LockDelay:      lockDelay,
		LockTryOnce:    true,
		LockWaitTime:   max(wait, 10*time.Millisecond),
		MonitorRetries: 5,
	})
	if err != nil {
		return nil, fmt.Errorf("lock: %s: %w", key, err)
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			close(stop)
		case <-stop:
		}
	}()
	lost, err := l.Lock(stop)
	select {
	case <-stop:
	default:
		close(stop)
	}
	if err != nil {
		return nil, fmt.Errorf("lock: acquire %s: %w", key, err)
	}
	if lost == nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lock: acquire %s: %w", key, ctx.Err())
		}
		return nil, &HeldError{Key: key, Holder: c.holder(key)}
	}
	return &consulLease{lock: l, lost: lost}, nil
}

// holder reads the current holder from the lock key's value.
func (c *Consul) holder(key string) *Holder {
	pair, _, err := c.Client.KV().Get(key, nil)
	if err != nil || pair == nil || pair.Session == "" {
		return nil
	}
	var h Holder
	if json.Unmarshal(pair.Value, &h) != nil {
		return nil
	}
	return &h
}

type consulLease struct {
	lock *consul.Lock
	lost <-chan struct{}
	once sync.Once
	err  error
}

func (l *consulLease) Lost() <-chan struct{} { return l.lost }

// Release unlocks; api.Lock then destroys the session.
func (l *consulLease) Release(context.Context) error {
	l.once.Do(func() {
		if err := l.lock.Unlock(); err != nil && err != consul.ErrLockNotHeld {
			l.err = fmt.Errorf("lock: release: %w", err)
		}
	})
	return l.err
}
