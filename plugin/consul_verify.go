package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

var (
	_ Verifier = (*ConsulSnapshot)(nil)
	_ Checker  = (*ConsulSnapshot)(nil)
	_ Verifier = (*ConsulKV)(nil)
)

// CheckOffline checks a Consul snapshot archive's own SHA256SUMS (see
// readRaftArchive). It reads the stream once.
func (t *ConsulSnapshot) CheckOffline(_ context.Context, r io.Reader) error {
	if _, err := readRaftArchive(r); err != nil {
		return fmt.Errorf("consul: snapshot archive: %w", err)
	}
	return nil
}

// scratchConsul starts a throwaway `consul agent -dev` the drill owns, and
// returns a client and a stop function that removes everything it made.
func scratchConsul(ctx context.Context, o VerifyOptions) (*consul.Client, string, func(), error) {
	if addr := os.Getenv("VIGIL_SCRATCH_CONSUL_ADDR"); addr != "" {
		// A sidecar task runs the scratch agent (docker driver); it ends
		// with the allocation.
		c, err := scratchClient(addr)
		if err != nil {
			return nil, "", nil, err
		}
		if err := waitLeader(ctx, c); err != nil {
			return nil, "", nil, fmt.Errorf("drill: sidecar consul at %s: %w", addr, err)
		}
		return c, "http://" + addr, func() {}, nil
	}
	bin, err := scratchBinary("consul", scratchOf(o).Consul)
	if err != nil {
		return nil, "", nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "vigil-drill-")
	if err != nil {
		return nil, "", nil, fmt.Errorf("drill: %w", err)
	}
	p, addr, err := scratch.Consul(ctx, bin, dir, "vigil-drill")
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("drill: scratch consul: %w", err)
	}
	stop := func() {
		p.Stop(10 * time.Second)
		os.RemoveAll(dir)
	}
	c, err := scratchClient(addr)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	return c, "http://" + addr, stop, nil
}

// Verify restores the snapshot into a scratch agent and runs the key
// assertions there.
func (t *ConsulSnapshot) Verify(ctx context.Context, r io.Reader, v *config.Verify, o VerifyOptions) (*VerifyResult, error) {
	c, _, stop, err := scratchConsul(ctx, o)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := c.Snapshot().Restore((&consul.WriteOptions{}).WithContext(ctx), r); err != nil {
		return nil, fmt.Errorf("drill: restore snapshot into the scratch agent: %w", err)
	}
	return assertKeys(ctx, consulKeys{c}, v)
}

// Verify imports the export into a scratch agent and runs the key
// assertions there.
func (t *ConsulKV) Verify(ctx context.Context, r io.Reader, v *config.Verify, o VerifyOptions) (*VerifyResult, error) {
	_, addr, stop, err := scratchConsul(ctx, o)
	if err != nil {
		return nil, err
	}
	defer stop()
	sc, err := scratchClient(strings.TrimPrefix(addr, "http://"))
	if err != nil {
		return nil, err
	}
	into := &ConsulKV{src: config.ConsulSource{Address: addr, Prefix: t.src.Prefix}, client: sc}
	if err := into.Restore(ctx, r, RestoreOptions{Mode: "merge"}); err != nil {
		return nil, fmt.Errorf("drill: import into the scratch agent: %w", err)
	}
	return assertKeys(ctx, consulKeys{into.client}, v)
}

// scratchClient reaches a drill's scratch agent: plain HTTP on loopback,
// without the environment's token or TLS settings, which are the real
// cluster's.
func scratchClient(addr string) (*consul.Client, error) {
	cfg := consul.DefaultConfig()
	cfg.Address, cfg.Scheme = addr, "http"
	cfg.Token, cfg.TokenFile, cfg.TLSConfig = "", "", consul.TLSConfig{}
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("drill: scratch consul client: %w", err)
	}
	return c, nil
}

type consulKeys struct{ c *consul.Client }

func (k consulKeys) count(ctx context.Context, prefix string) (int, error) {
	keys, _, err := k.c.KV().Keys(prefix, "", (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("drill: list keys %q: %w", prefix, err)
	}
	return len(keys), nil
}

func (k consulKeys) get(ctx context.Context, key string) ([]byte, bool, error) {
	p, _, err := k.c.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, false, fmt.Errorf("drill: get %s: %w", key, err)
	}
	if p == nil {
		return nil, false, nil
	}
	return p.Value, true, nil
}

func waitLeader(ctx context.Context, c *consul.Client) error {
	for {
		if l, err := c.Status().Leader(); err == nil && l != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
