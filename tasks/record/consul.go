package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
)

// KVPrefix is where the latest records live on the control Consul:
// vigil/runs/<backup>/{current,current-verify,last,verify,registered}.
// The past runs are under HistoryPrefix: vigil/history/<backup>/<run>.
const (
	KVPrefix      = config.RecordPrefix
	HistoryPrefix = config.HistoryPrefix
)

// Consul keeps records in the control Consul's KV.
type Consul struct {
	Client *consul.Client
	// Keep is how many past runs each backup keeps (0: DefaultHistory).
	Keep int
}

var _ Book = (*Consul)(nil)

func lastKey(backup, kind string) string {
	if kind == KindVerify {
		return KVPrefix + backup + "/verify"
	}
	return KVPrefix + backup + "/last"
}

// currentKey is the run in progress of one kind: a drill and a backup of
// one backup may run at once.
func currentKey(backup, kind string) string {
	if kind == KindVerify {
		return KVPrefix + backup + "/current-verify"
	}
	return KVPrefix + backup + "/current"
}

func (c *Consul) put(ctx context.Context, key string, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := c.Client.KV().Put(&consul.KVPair{Key: key, Value: b}, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("record: write %s: %w", key, denied(err, r.Backup, strings.HasPrefix(key, HistoryPrefix)))
	}
	return nil
}

// denied names the rules a refused record write needed: the latest
// records' and, for writes that touch it, the history's.
func denied(err error, backup string, history bool) error {
	need := fmt.Sprintf("key_prefix %q write", KVPrefix+backup+"/")
	if history {
		need += fmt.Sprintf(" and key_prefix %q write", historyDir(backup))
	}
	return plugin.ConsulDenied(err, need)
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
	return c.put(ctx, currentKey(r.Backup, r.Kind), r)
}

// Finish implements Book. The last record, the history entry and the
// removal of the current record (a check-and-set on its index, so a newer
// run's record is never removed) are one transaction: all land or none.
// Trimming the history comes after, and its failure is reported only.
func (c *Consul) Finish(ctx context.Context, r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ops := consul.TxnOps{
			{KV: &consul.KVTxnOp{Verb: consul.KVSet, Key: lastKey(r.Backup, r.Kind), Value: b}},
			{KV: &consul.KVTxnOp{Verb: consul.KVSet, Key: historyDir(r.Backup) + historyName(r), Value: b}},
		}
		key := currentKey(r.Backup, r.Kind)
		pair, _, err := c.Client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("record: read %s: %w", key, err)
		}
		var cur Run
		if pair != nil && json.Unmarshal(pair.Value, &cur) == nil && cur.ID == r.ID && cur.Kind == r.Kind {
			ops = append(ops, &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVDeleteCAS, Key: key, Index: pair.ModifyIndex}})
		}
		ok, resp, _, err := c.Client.Txn().Txn(ops, (&consul.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("record: finish %s run %s: %w", r.Kind, r.ID, denied(err, r.Backup, true))
		}
		if ok {
			break
		}
		if why := txnErrors(resp); strings.Contains(why, "Permission denied") {
			return fmt.Errorf("record: finish %s run %s: %w", r.Kind, r.ID, denied(errors.New(why), r.Backup, true))
		}
		// The current record changed between the read and the write (a
		// newer run started): read it again and leave it.
		if attempt == 2 {
			return fmt.Errorf("record: finish %s run %s: transaction rolled back: %s", r.Kind, r.ID, txnErrors(resp))
		}
	}
	return c.trimHistory(ctx, r.Backup)
}

func txnErrors(resp *consul.TxnResponse) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "no reason given"
	}
	var parts []string
	for _, e := range resp.Errors {
		parts = append(parts, e.What)
	}
	return strings.Join(parts, "; ")
}

func historyDir(backup string) string { return HistoryPrefix + backup + "/" }

// Skip implements Book.
func (c *Consul) Skip(ctx context.Context, r Run) error {
	if err := c.put(ctx, historyDir(r.Backup)+historyName(r), r); err != nil {
		return err
	}
	return c.trimHistory(ctx, r.Backup)
}

func (c *Consul) trimHistory(ctx context.Context, backup string) error {
	dir := historyDir(backup)
	keys, _, err := c.Client.KV().Keys(dir, "", (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("record: list %s: %w", dir, err)
	}
	sort.Strings(keys)
	for len(keys) > limit(c.Keep) {
		if _, err := c.Client.KV().Delete(keys[0], (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
			return fmt.Errorf("record: trim %s: %w", dir, err)
		}
		keys = keys[1:]
	}
	return nil
}

// Current implements Book.
func (c *Consul) Current(ctx context.Context, backup, kind string) (*Run, error) {
	return c.get(ctx, currentKey(backup, kind))
}

// Last implements Book.
func (c *Consul) Last(ctx context.Context, backup, kind string) (*Run, error) {
	return c.get(ctx, lastKey(backup, kind))
}

// History implements Book.
func (c *Consul) History(ctx context.Context, backup string) ([]Run, error) {
	dir := historyDir(backup)
	pairs, meta, err := c.Client.KV().List(dir, (&consul.QueryOptions{}).WithContext(ctx))
	if err == nil && meta.ResultsFilteredByACLs {
		// Every key here is this backup's: a filtered listing is a token
		// that may not read its history, not a backup without one.
		err = errors.New("Permission denied: Consul filtered the listing by ACLs")
	}
	if err != nil {
		return nil, fmt.Errorf("record: list %s: %w", dir, plugin.ConsulDenied(err, fmt.Sprintf("key_prefix %q read", dir)))
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

// RegisteredKey is where vigil serve records when a backup came under watch.
func RegisteredKey(backup string) string { return KVPrefix + backup + "/registered" }

// Register implements Book: a check-and-set on index 0 writes the key only
// when it does not exist, so the first registration stands.
func (c *Consul) Register(ctx context.Context, backup string, at time.Time) error {
	key := RegisteredKey(backup)
	_, _, err := c.Client.KV().CAS(&consul.KVPair{Key: key, Value: []byte(at.UTC().Format(time.RFC3339Nano))}, (&consul.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("record: write %s: %w", key, plugin.ConsulDenied(err, fmt.Sprintf("key %q write", key)))
	}
	return nil
}

// Registered implements Book.
func (c *Consul) Registered(ctx context.Context, backup string) (*time.Time, error) {
	key := RegisteredKey(backup)
	pair, _, err := c.Client.KV().Get(key, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	if pair == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(pair.Value))
	if err != nil {
		return nil, fmt.Errorf("record: read %s: %w", key, err)
	}
	return &t, nil
}

// HistoryKey is where the control Consul keeps r in its backup's history.
func HistoryKey(r Run) string { return historyDir(r.Backup) + historyName(r) }
