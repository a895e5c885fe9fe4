package record

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	consul "github.com/hashicorp/consul/api"
)

// KVPrefix is where records live on the control Consul:
// vigil/runs/<backup>/{current,last,verify,history/...}.
const KVPrefix = "vigil/runs/"

// Consul keeps records in the control Consul's KV.
type Consul struct {
	Client *consul.Client
}

var _ Book = (*Consul)(nil)

func lastKey(backup, kind string) string {
	if kind == KindVerify {
		return KVPrefix + backup + "/verify"
	}
	return KVPrefix + backup + "/last"
}

func (c *Consul) put(ctx context.Context, key string, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := c.Client.KV().Put(&consul.KVPair{Key: key, Value: b}, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("record: write %s: %w", key, err)
	}
	return nil
}

func (c *Consul) get(ctx context.Context, key string) (*Run, error) {
	pair, _, err := c.Client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	if pair == nil {
		return nil, nil
	}
	var r Run
	if err := json.Unmarshal(pair.Value, &r); err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	return &r, nil
}

// Start implements Book.
func (c *Consul) Start(ctx context.Context, r Run) error {
	return c.put(ctx, KVPrefix+r.Backup+"/current", r)
}

// Finish implements Book. The current record is removed with a
// check-and-set on its index, so a newer run's record is never removed.
func (c *Consul) Finish(ctx context.Context, r Run) error {
	if err := c.put(ctx, lastKey(r.Backup, r.Kind), r); err != nil {
		return err
	}
	if err := c.addHistory(ctx, r); err != nil {
		return err
	}
	key := KVPrefix + r.Backup + "/current"
	pair, _, err := c.Client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("record: read %s: %w", key, err)
	}
	if pair == nil {
		return nil
	}
	var cur Run
	if json.Unmarshal(pair.Value, &cur) == nil && (cur.ID != r.ID || cur.Kind != r.Kind) {
		return nil
	}
	if _, _, err := c.Client.KV().DeleteCAS(pair, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("record: clear %s: %w", key, err)
	}
	return nil
}

// Skip implements Book.
func (c *Consul) Skip(ctx context.Context, r Run) error { return c.addHistory(ctx, r) }

func (c *Consul) addHistory(ctx context.Context, r Run) error {
	dir := KVPrefix + r.Backup + "/history/"
	if err := c.put(ctx, dir+historyName(r), r); err != nil {
		return err
	}
	keys, _, err := c.Client.KV().Keys(dir, "", (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("record: list %s: %w", dir, err)
	}
	sort.Strings(keys)
	for len(keys) > HistoryLimit {
		if _, err := c.Client.KV().Delete(keys[0], (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
			return fmt.Errorf("record: trim %s: %w", dir, err)
		}
		keys = keys[1:]
	}
	return nil
}

// Current implements Book.
func (c *Consul) Current(ctx context.Context, backup string) (*Run, error) {
	return c.get(ctx, KVPrefix+backup+"/current")
}

// Last implements Book.
func (c *Consul) Last(ctx context.Context, backup, kind string) (*Run, error) {
	return c.get(ctx, lastKey(backup, kind))
}

// History implements Book.
func (c *Consul) History(ctx context.Context, backup string) ([]Run, error) {
	dir := KVPrefix + backup + "/history/"
	pairs, _, err := c.Client.KV().List(dir, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("record: list %s: %w", dir, err)
	}
	var out []Run
	for _, p := range pairs {
		if strings.HasSuffix(p.Key, "/") {
			continue
		}
		var r Run
		if err := json.Unmarshal(p.Value, &r); err != nil {
			return nil, fmt.Errorf("record: read %s: %w", p.Key, err)
		}
		out = append(out, r)
	}
	sortRuns(out)
	return out, nil
}
