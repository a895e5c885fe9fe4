package plugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/vigil-backup/vigil/hcl/config"
)

func readDescriptor(r io.Reader) (*esDescriptor, error) {
	var d esDescriptor
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("elasticsearch: read snapshot descriptor: %w", err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // let the checksum see every byte
		return nil, fmt.Errorf("elasticsearch: read snapshot descriptor: %w", err)
	}
	if d.Format != 1 || d.Snapshot.Snapshot == "" {
		return nil, fmt.Errorf("elasticsearch: not a vigil snapshot descriptor")
	}
	return &d, nil
}

// Restore restores the snapshot a descriptor names, renamed as asked, and
// waits until every restored shard's recovery is DONE
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/restore-snapshot-api.html).
func (t *Elasticsearch) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error {
	d, err := readDescriptor(r)
	if err != nil {
		return err
	}
	restored, err := t.restore(ctx, d, opts.RenamePattern, opts.RenameReplacement, opts.Progress)
	if err != nil {
		return err
	}
	if opts.Out != nil {
		fmt.Fprintf(opts.Out, "restored snapshot %s: indices %s\n", d.Snapshot.Snapshot, strings.Join(restored, ", "))
	}
	return nil
}

// restore asks Elasticsearch to restore the snapshot and waits for it
// (wait_for_completion=true, bounded only by ctx: a restore's deadline).
// The names of the restored indices are the ones Elasticsearch answers
// with, never computed here: the rename follows Elasticsearch's (Java's)
// replacement syntax, which Go's differs from ("$1_x" is group 1 and "_x"
// in Java, an unknown group "1_x" in Go).
func (t *Elasticsearch) restore(ctx context.Context, d *esDescriptor, pattern, replacement string, progress io.Writer) ([]string, error) {
	if _, err := t.info(ctx); err != nil {
		return nil, err
	}
	req := map[string]any{
		"indices":              strings.Join(d.Snapshot.Indices, ","),
		"include_global_state": false,
	}
	if pattern != "" {
		req["rename_pattern"], req["rename_replacement"] = pattern, replacement
	}
	body, _ := json.Marshal(req)
	name := d.Snapshot.Snapshot
	if progress != nil {
		fmt.Fprintf(progress, "restoring snapshot %s (Elasticsearch recovers the primary shards)...\n", name)
	}
	var out struct {
		Snapshot struct {
			Indices []string `json:"indices"`
			Shards  struct {
				Total  int `json:"total"`
				Failed int `json:"failed"`
			} `json:"shards"`
		} `json:"snapshot"`
	}
	if err := t.callWait(ctx, "restore snapshot "+name, "manage", esapi.SnapshotRestoreRequest{
		Repository: t.src.Repository, Snapshot: name, Body: bytes.NewReader(body), WaitForCompletion: esapi.BoolPtr(true),
	}, &out); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("elasticsearch: restore snapshot %s not done before the restore's deadline: %w", name, context.Cause(ctx))
		}
		return nil, err
	}
	restored := out.Snapshot.Indices
	sort.Strings(restored)
	if out.Snapshot.Shards.Failed > 0 {
		return restored, fmt.Errorf("elasticsearch: restore snapshot %s: %d of %d shards failed to restore", name, out.Snapshot.Shards.Failed, out.Snapshot.Shards.Total)
	}
	return restored, t.waitRecovery(ctx, restored, progress)
}

// waitRecovery polls the index recovery API until every shard of every
// index is DONE
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-recovery.html).
func (t *Elasticsearch) waitRecovery(ctx context.Context, indices []string, progress io.Writer) error {
	if len(indices) == 0 {
		return nil
	}
	var delay time.Duration
	for {
		var out map[string]struct {
			Shards []struct {
				ID    int    `json:"id"`
				Stage string `json:"stage"`
			} `json:"shards"`
		}
		err := t.call(ctx, "recovery of "+strings.Join(indices, ","), "monitor", esapi.IndicesRecoveryRequest{Index: indices}, &out)
		if err != nil && !isType(err, "index_not_found_exception") {
			return err
		}
		done, total := 0, 0
		for _, ix := range indices {
			for _, s := range out[ix].Shards {
				total++
				if s.Stage == "DONE" {
					done++
				}
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rrecovery: %d of %d shards done", done, total)
		}
		if err == nil && total > 0 && done == total && len(out) >= len(indices) {
			if progress != nil {
				fmt.Fprintln(progress)
			}
			return nil
		}
		delay = t.Poll.next(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("elasticsearch: recovery of %s not done before the deadline (%d of %d shards): %w", strings.Join(indices, ","), done, total, context.Cause(ctx))
		case <-time.After(delay):
		}
	}
}

// Verify restores the snapshot under a scratch prefix, counts each matching
// index's documents against the spec's thresholds, and deletes the restored
// indices on every path.
func (t *Elasticsearch) Verify(ctx context.Context, r io.Reader, v *config.Verify, opts VerifyOptions) (*VerifyResult, error) {
	d, err := readDescriptor(r)
	if err != nil {
		return nil, err
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	prefix := "vigil-verify-" + hex.EncodeToString(rnd[:]) + "-"
	restored, err := t.restore(ctx, d, "(.+)", prefix+"$1", nil)
	defer t.deleteScratch(ctx, prefix)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Values: map[string]any{"snapshot": d.Snapshot.Snapshot, "indices_restored": len(restored)}}
	for _, a := range v.Indices {
		res.Checks = append(res.Checks, t.checkDocs(ctx, prefix, restored, a, res.Values)...)
	}
	return res, nil
}

func (t *Elasticsearch) checkDocs(ctx context.Context, prefix string, restored []string, a config.IndexAssertion, values map[string]any) []Check {
	re := wildcard(prefix + a.Pattern)
	var matched []string
	for _, ix := range restored {
		if re.MatchString(ix) {
			matched = append(matched, ix)
		}
	}
	sort.Strings(matched)
	name := fmt.Sprintf("index %s min_docs %d", a.Pattern, a.MinDocs)
	if len(matched) == 0 {
		return []Check{{Name: name, Passed: false, Detail: fmt.Sprintf("no index in the snapshot matches %s", a.Pattern)}}
	}
	var checks []Check
	for _, ix := range matched {
		var out struct {
			Count int64 `json:"count"`
		}
		orig := strings.TrimPrefix(ix, prefix)
		if err := t.call(ctx, "count "+ix, "read", esapi.CountRequest{Index: []string{ix}}, &out); err != nil {
			checks = append(checks, Check{Name: name + " (" + orig + ")", Passed: false, Detail: err.Error()})
			continue
		}
		values["docs."+orig] = out.Count
		checks = append(checks, Check{
			Name:   name + " (" + orig + ")",
			Passed: out.Count >= a.MinDocs,
			Detail: fmt.Sprintf("%s has %d documents, expected ≥ %d", orig, out.Count, a.MinDocs),
		})
	}
	return checks
}

// deleteScratch removes every index under the drill's scratch prefix,
// those a failed restore left too. Wildcard deletes are refused by default,
// so it lists them first and deletes by name, with a context of its own.
func (t *Elasticsearch) deleteScratch(ctx context.Context, prefix string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var rows []struct {
		Index string `json:"index"`
	}
	if err := t.call(ctx, "list scratch indices", "monitor", esapi.CatIndicesRequest{Index: []string{prefix + "*"}, Format: "json", H: []string{"index"}}, &rows); err != nil {
		return
	}
	var names []string
	for _, r := range rows {
		if strings.HasPrefix(r.Index, prefix) {
			names = append(names, r.Index)
		}
	}
	if len(names) == 0 {
		return
	}
	_ = t.call(ctx, "delete indices", "manage", esapi.IndicesDeleteRequest{Index: names, IgnoreUnavailable: esapi.BoolPtr(true)}, nil)
}

// wildcard turns an index pattern with * into a regular expression.
func wildcard(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}
