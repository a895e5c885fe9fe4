package health

import (
	"context"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/plugin"
)

// LeaderKey is the lock the vigil serve allocations of one check node
// elect a leader with; only the leader writes the Consul checks, so several
// allocations never fight over them.
func LeaderKey(node string) string { return "vigil/serve/" + node + "/leader" }

// Lead runs work while this process holds the leader lock, and contends
// again when it loses it, until ctx ends. work's context ends when the
// leadership does.
func Lead(ctx context.Context, c *consul.Client, key, holder string, log hclog.Logger, work func(context.Context)) {
	for ctx.Err() == nil {
		lock, err := c.LockOpts(&consul.LockOptions{
			Key: key, Value: []byte(holder), SessionName: "vigil serve leader",
			SessionTTL: "15s", MonitorRetries: 5,
		})
		if err != nil {
			log.Error("leader lock", "error", plugin.ConsulDenied(err, ""))
			sleep(ctx, 5*time.Second)
			continue
		}
		lost, err := lock.Lock(ctx.Done())
		if err != nil {
			log.Warn("leader election failed; retrying", "error", plugin.ConsulDenied(err, ""))
			sleep(ctx, 2*time.Second)
			continue
		}
		if lost == nil {
			return // ctx ended
		}
		log.Info("leading: this allocation writes the Consul checks")
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-lctx.Done():
			}
			cancel()
		}()
		work(lctx)
		cancel()
		_ = lock.Unlock()
		log.Info("no longer leading")
	}
}
