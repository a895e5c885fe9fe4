package plugin

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Transactions stay within what every Consul accepts: 64 operations (128 on
// current agents) and well under the 512 KB request limit.
const (
	txnMaxOps   = 64
	txnMaxBytes = 384 << 10
)

// ConsulKV exports a KV prefix in exactly the format `consul kv export`
// prints, so `consul kv import` restores it.
type ConsulKV struct {
	src    config.ConsulSource
	cfg    *consul.Config
	client *consul.Client
}

var _ Target = (*ConsulKV)(nil)

// NewConsulKV returns the target for src; token, when set, is the run's
// own Consul token.
func NewConsulKV(src config.ConsulSource, token string) (*ConsulKV, error) {
	cfg := ConsulConfig(src.Address, src.Datacenter, "", src.TLS, SpecOverEnv)
	SetIf(&cfg.Token, token)
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul: client for %s: %w", src.Address, err)
	}
	return &ConsulKV{src: src, cfg: cfg, client: c}, nil
}

// exportEntry is one key as `consul kv export` writes it.
type exportEntry struct {
	Key   string `json:"key"`
	Flags uint64 `json:"flags"`
	Value string `json:"value"`
}

// kvPair is one key as GET /v1/kv/?recurse returns it; Value stays base64.
type kvPair struct {
	Key   string
	Flags uint64
	Value *string
}

// Snapshot streams GET /v1/kv/<prefix>?recurse and rewrites each pair as it
// arrives, so memory does not grow with the number of keys. One request is
// one consistent read at one raft index.
//
// The export is proven whole before it counts: the answer must be complete
// JSON, Consul must not have filtered it by ACLs (a token that may read
// only part of the prefix would otherwise give a "good" backup of part of
// it), and its key count must match a listing of the prefix's keys taken
// at the same raft index.
func (t *ConsulKV) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	before, err := t.listKeys(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.get(ctx, url.Values{"recurse": {"true"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	index := resp.Header.Get("X-Consul-Index")
	src := Source{"prefix": t.src.Prefix, "raft_index": index}
	if t.src.Datacenter != "" {
		src["datacenter"] = t.src.Datacenter
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	if resp.StatusCode == http.StatusNotFound { // no key under the prefix
		_, err = io.WriteString(bw, "[]\n")
	} else {
		n, err = rewriteExport(resp.Body, bw)
		if err != nil {
			err = fmt.Errorf("%w: the answer is not complete JSON after %d keys: %v", ErrIncomplete, n, err)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, fmt.Errorf("consul: kv export %q: %w", t.src.Prefix, err)
	}
	src["keys"] = strconv.Itoa(n)
	if err := t.confirmCount(ctx, n, index, before, src); err != nil {
		return nil, err
	}
	if n == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("consul: kv export %q: %w: no key under the prefix", t.src.Prefix, ErrEmpty)
	}
	return src, nil
}

// KVReadRule is the rule a KV export of prefix needs, as errors name it.
func KVReadRule(prefix string) string { return fmt.Sprintf("key_prefix %q read", prefix) }

// keyListing is GET /v1/kv/<prefix>?keys: how many keys, at which index.
type keyListing struct {
	n     int
	index string
}

// get makes a KV read of the prefix and turns what is not a whole answer
// into an error: a refusal, or results Consul filtered by ACLs (it says so
// only in a header, and answers 200).
func (t *ConsulKV) get(ctx context.Context, q url.Values) (*http.Response, error) {
	if t.src.Stale {
		q.Set("stale", "")
	}
	resp, err := consulGet(ctx, t.cfg, "/v1/kv/"+t.src.Prefix, q)
	if err != nil {
		return nil, fmt.Errorf("consul: kv export %q: %w", t.src.Prefix, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		defer resp.Body.Close()
		return nil, fmt.Errorf("consul: kv export %q: %w", t.src.Prefix, consulRefusal(resp, KVReadRule(t.src.Prefix)))
	}
	if resp.Header.Get("X-Consul-Results-Filtered-By-ACLs") == "true" {
		resp.Body.Close()
		return nil, fmt.Errorf("consul: kv export %q: %w: keys under the prefix were hidden from the token by ACLs (X-Consul-Results-Filtered-By-ACLs): token lacks %s", t.src.Prefix, ErrIncomplete, KVReadRule(t.src.Prefix))
	}
	return resp, nil
}

func (t *ConsulKV) listKeys(ctx context.Context) (keyListing, error) {
	resp, err := t.get(ctx, url.Values{"keys": {"true"}})
	if err != nil {
		return keyListing{}, err
	}
	defer resp.Body.Close()
	l := keyListing{index: resp.Header.Get("X-Consul-Index")}
	if resp.StatusCode == http.StatusNotFound {
		return l, nil
	}
	dec := json.NewDecoder(resp.Body)
	err = expectDelim(dec, '[')
	for err == nil && dec.More() {
		var k string
		if err = dec.Decode(&k); err == nil {
			l.n++
		}
	}
	if err == nil {
		err = expectDelim(dec, ']')
	}
	if err != nil {
		return l, fmt.Errorf("consul: kv export %q: list keys: %w: %v", t.src.Prefix, ErrIncomplete, err)
	}
	return l, nil
}

// confirmCount checks the export's key count against a key listing at the
// same raft index: the listing before the export, or else one after it.
// When writes under the prefix moved the index both times, the export is
// still one consistent read; the manifest then says the count could not be
// cross-checked.
func (t *ConsulKV) confirmCount(ctx context.Context, n int, index string, before keyListing, src Source) error {
	l := before
	if l.index != index {
		var err error
		if l, err = t.listKeys(ctx); err != nil {
			return err
		}
	}
	if l.index != index {
		src["key_count_check"] = "skipped: keys under the prefix changed during the export"
		return nil
	}
	if l.n != n {
		return fmt.Errorf("consul: kv export %q: %w: the export has %d keys, the key listing at the same index %s has %d", t.src.Prefix, ErrIncomplete, n, index, l.n)
	}
	return nil
}

// rewriteExport turns Consul's KV list into `consul kv export` output:
// json.MarshalIndent of the entries with a tab indent, and a newline.
func rewriteExport(r io.Reader, w io.Writer) (int, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '['); err != nil {
		return 0, err
	}
	n := 0
	for dec.More() {
		var p kvPair
		if err := dec.Decode(&p); err != nil {
			return n, fmt.Errorf("decode pair %d: %w", n, err)
		}
		e := exportEntry{Key: p.Key, Flags: p.Flags}
		if p.Value != nil {
			e.Value = *p.Value
		}
		sep := "[\n"
		if n > 0 {
			sep = ",\n"
		}
		b, err := json.MarshalIndent(e, "\t", "\t")
		if err != nil {
			return n, err
		}
		if _, err := io.WriteString(w, sep+"\t"); err != nil {
			return n, err
		}
		if _, err := w.Write(b); err != nil {
			return n, err
		}
		n++
	}
	if err := expectDelim(dec, ']'); err != nil {
		return n, err
	}
	end := "\n]\n"
	if n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(w, end)
	return n, err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read %q: %w", want, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, tok)
	}
	return nil
}

// Restore imports an export with transactions. In "replace" mode, keys under
// the backup's prefix that the backup lacks are deleted afterwards; that
// mode keeps the backup's key names in memory.
func (t *ConsulKV) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error {
	replace := opts.Mode == "replace"
	if opts.Mode != "" && opts.Mode != "merge" && !replace {
		return fmt.Errorf("consul: kv import: mode %q is not merge or replace", opts.Mode)
	}
	keep := map[string]bool{}
	b := &txnBatch{ctx: ctx, txn: t.client.Txn()}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '['); err != nil {
		return fmt.Errorf("consul: kv import: %w", err)
	}
	for dec.More() {
		var e exportEntry
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("consul: kv import: decode entry: %w", err)
		}
		val, err := base64.StdEncoding.DecodeString(e.Value)
		if err != nil {
			return fmt.Errorf("consul: kv import: key %q: value is not base64: %w", e.Key, err)
		}
		if replace {
			keep[e.Key] = true
		}
		if err := b.add(&consul.KVTxnOp{Verb: consul.KVSet, Key: e.Key, Flags: e.Flags, Value: val}); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, ']'); err != nil {
		return fmt.Errorf("consul: kv import: %w", err)
	}
	if err := b.flush(); err != nil {
		return err
	}
	if !replace {
		return nil
	}
	existing, _, err := t.client.KV().Keys(t.src.Prefix, "", (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("consul: kv import: list %q: %w", t.src.Prefix, err)
	}
	for _, k := range existing {
		if !keep[k] {
			if err := b.add(&consul.KVTxnOp{Verb: consul.KVDelete, Key: k}); err != nil {
				return err
			}
		}
	}
	return b.flush()
}

// txnBatch groups KV operations into transactions within Consul's limits.
type txnBatch struct {
	ctx   context.Context
	txn   *consul.Txn
	ops   consul.TxnOps
	bytes int
}

func (b *txnBatch) add(op *consul.KVTxnOp) error {
	size := len(op.Key) + len(op.Value)*4/3 + 64
	if len(b.ops) == txnMaxOps || (len(b.ops) > 0 && b.bytes+size > txnMaxBytes) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.ops = append(b.ops, &consul.TxnOp{KV: op})
	b.bytes += size
	return nil
}

func (b *txnBatch) flush() error {
	if len(b.ops) == 0 {
		return nil
	}
	ok, resp, _, err := b.txn.Txn(b.ops, (&consul.QueryOptions{}).WithContext(b.ctx))
	if err != nil {
		return fmt.Errorf("consul: kv import: txn of %d ops: %w", len(b.ops), err)
	}
	if !ok {
		msg := "rolled back"
		if resp != nil && len(resp.Errors) > 0 {
			msg = resp.Errors[0].What
		}
		return fmt.Errorf("consul: kv import: txn of %d ops: %s", len(b.ops), msg)
	}
	b.ops, b.bytes = b.ops[:0], 0
	return nil
}
