package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/plugin"
)

// lockDelay is how long Consul keeps a lock free after its session is
// invalidated, so a holder that lost its session has stopped before another
// run starts. Consul's default is 15s; runs stop within a second of losing
// the session, so 5s is enough.
const lockDelay = 5 * time.Second

// Consul locks with api.Lock on the control Consul, on a session vigil
// creates and renews itself: api.Lock's own renewal gives up silently, and
// a run must know when its session may no longer be alive.
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
	wo := (&consul.WriteOptions{}).WithContext(ctx)
	sessions := c.Client.Session()
	id, _, err := sessions.Create(&consul.SessionEntry{Name: "vigil " + key, TTL: ttl.String(), LockDelay: lockDelay, Behavior: consul.SessionBehaviorRelease}, wo)
	if err != nil {
		return nil, fmt.Errorf("lock: create session for %s: %w", key, plugin.ConsulDenied(err, `session_prefix "" write`))
	}
	destroy := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = sessions.Destroy(id, (&consul.WriteOptions{}).WithContext(dctx))
	}
	l, err := c.Client.LockOpts(&consul.LockOptions{
		Key:            key,
		Value:          value,
		Session:        id,
		LockTryOnce:    true,
		LockWaitTime:   max(wait, 10*time.Millisecond),
		MonitorRetries: 5,
	})
	if err != nil {
		destroy()
		return nil, fmt.Errorf("lock: %s: %w", key, err)
	}
	// The stop channel is closed once, by whichever comes first: the
	// context ending, or Lock returning.
	stop := make(chan struct{})
	var once sync.Once
	closeStop := func() { once.Do(func() { close(stop) }) }
	unwatch := context.AfterFunc(ctx, closeStop)
	lost, err := l.Lock(stop)
	unwatch()
	closeStop()
	if err != nil {
		destroy()
		return nil, fmt.Errorf("lock: acquire %s: %w", key, plugin.ConsulDenied(err, fmt.Sprintf("key %q write", key)))
	}
	if lost == nil {
		destroy()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("lock: acquire %s: %w", key, ctx.Err())
		}
		return nil, &HeldError{Key: key, Holder: c.holder(ctx, key)}
	}
	lease := &consulLease{lock: l, session: id, sessions: sessions, lost: make(chan struct{}), done: make(chan struct{})}
	rctx, stopRenew := context.WithCancel(context.Background())
	lease.stopRenew = stopRenew
	go lease.watch(rctx, lost, ttl)
	return lease, nil
}

// holder reads the current holder from the lock key's value.
func (c *Consul) holder(ctx context.Context, key string) *Holder {
	pair, _, err := c.Client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
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
	lock      *consul.Lock
	session   string
	sessions  *consul.Session
	lost      chan struct{}
	done      chan struct{}
	stopRenew context.CancelFunc
	why       error
	once      sync.Once
	err       error
}

// renewRetry is how soon a failed renewal is tried again.
const renewRetry = time.Second

// watch renews the session every TTL/2 and closes lost when the lock is
// lost: api.Lock saw the lock key change hands, Consul says the session is
// gone, or renewals have failed for a whole TTL. Consul invalidates a
// session only after it missed renewals for the TTL (and up to twice that),
// and then keeps the lock free for the lock-delay, so a run that stops here
// has stopped before any other run could take the lock.
func (l *consulLease) watch(ctx context.Context, monitor <-chan struct{}, ttl time.Duration) {
	defer close(l.done)
	lastOK := time.Now()
	next := ttl / 2
	for {
		select {
		case <-ctx.Done():
			return
		case <-monitor:
			l.fail(errors.New("the Consul lock was lost (session invalidated)"))
			return
		case <-time.After(next):
		}
		entry, _, err := l.sessions.Renew(l.session, (&consul.WriteOptions{}).WithContext(ctx))
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && entry == nil:
			l.fail(errors.New("the Consul lock was lost (the session no longer exists)"))
			return
		case err == nil:
			lastOK, next = time.Now(), ttl/2
		case time.Since(lastOK) >= ttl:
			l.fail(fmt.Errorf("the Consul lock was lost: session renewals failed for %s (the session TTL), so the session may expire; last error: %w",
				time.Since(lastOK).Round(time.Second), err))
			return
		default:
			next = min(renewRetry, ttl-time.Since(lastOK))
		}
	}
}

func (l *consulLease) fail(why error) {
	l.why = why
	close(l.lost)
}

func (l *consulLease) Lost() <-chan struct{} { return l.lost }

// Why implements Lease.
func (l *consulLease) Why() error {
	select {
	case <-l.lost:
		return l.why
	default:
		return nil
	}
}

// Release stops renewing, unlocks and destroys the session.
func (l *consulLease) Release(ctx context.Context) error {
	l.once.Do(func() {
		l.stopRenew()
		<-l.done
		if err := l.lock.Unlock(); err != nil && err != consul.ErrLockNotHeld {
			l.err = fmt.Errorf("lock: release: %w", err)
		}
		if _, err := l.sessions.Destroy(l.session, (&consul.WriteOptions{}).WithContext(ctx)); err != nil && l.err == nil {
			l.err = fmt.Errorf("lock: destroy session: %w", err)
		}
	})
	return l.err
}
