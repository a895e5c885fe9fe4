package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// esSnapshot is one snapshot as the get snapshot API describes it
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html).
type esSnapshot struct {
	Snapshot   string         `json:"snapshot"`
	UUID       string         `json:"uuid"`
	Repository string         `json:"repository"`
	Version    string         `json:"version"`
	Indices    []string       `json:"indices"`
	State      string         `json:"state"`
	StartMs    int64          `json:"start_time_in_millis"`
	EndMs      int64          `json:"end_time_in_millis"`
	Metadata   map[string]any `json:"metadata"`
	Failures   []struct {
		Index   string `json:"index"`
		ShardID int    `json:"shard_id"`
		Reason  string `json:"reason"`
	} `json:"failures"`
	Shards struct {
		Total      int `json:"total"`
		Failed     int `json:"failed"`
		Successful int `json:"successful"`
	} `json:"shards"`
}

// esDescriptor is the object vigil stores for an Elasticsearch backup: what
// a restore needs to find the snapshot, and what the manifest reports.
type esDescriptor struct {
	Format      int        `json:"format"`
	Cluster     string     `json:"cluster_name"`
	ClusterUUID string     `json:"cluster_uuid"`
	ESVersion   string     `json:"es_version"`
	Snapshot    esSnapshot `json:"snapshot"`
}

// SnapshotName is the name vigil gives the snapshot of backup id:
// <prefix>-<UTC timestamp>, lower case as Elasticsearch requires.
func SnapshotName(prefix, id string) string { return prefix + "-" + strings.ToLower(id) }

// Snapshot creates the snapshot with wait_for_completion=false, polls it
// until it ends, and writes the descriptor to w. Only SUCCESS succeeds, and
// a snapshot of no shard fails as empty unless allowed. Once a create may
// have reached the cluster, every failure deletes that snapshot (which
// aborts it when it still runs), so no half snapshot is left behind; a
// SUCCESS snapshot whose manifest is never written is an orphan that
// retention removes.
func (t *Elasticsearch) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	ci, err := t.info(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.ensureRepository(ctx); err != nil {
		return nil, err
	}
	name := SnapshotName(t.src.SnapshotPrefix, opts.ID)
	if err := t.create(ctx, name, opts); err != nil {
		if ctx.Err() != nil || mayHaveStarted(err) {
			// A create cut off on the wire may still have started it.
			t.abandon(ctx, name)
		}
		return nil, err
	}
	src, err := t.finishSnapshot(ctx, ci, name, w, opts)
	if err != nil {
		t.abandon(ctx, name)
		return nil, err
	}
	return src, nil
}

// mayHaveStarted reports whether a failed create may still have started
// the snapshot: anything but a definite refusal (a 4xx answer, or a
// refusal because another snapshot runs) may have.
func mayHaveStarted(err error) bool {
	var e *esError
	if errors.As(err, &e) {
		busy := isType(err, "concurrent_snapshot_execution_exception", "snapshot_in_progress_exception")
		return !busy && e.Status >= 500
	}
	return true
}

func (t *Elasticsearch) finishSnapshot(ctx context.Context, ci *clusterInfo, name string, w io.Writer, opts SnapshotOptions) (Source, error) {
	snap, err := t.wait(ctx, name)
	if err != nil {
		return nil, err
	}
	if snap.Shards.Total == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("elasticsearch: snapshot %s: %w: no index matched %q; the snapshot was deleted", name, ErrEmpty, strings.Join(t.src.Indices, ","))
	}
	desc := esDescriptor{Format: 1, Cluster: ci.ClusterName, ClusterUUID: ci.ClusterUUID, ESVersion: ci.Version.Number, Snapshot: *snap}
	b, _ := json.MarshalIndent(desc, "", "  ")
	if _, err := w.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("elasticsearch: write descriptor: %w", err)
	}
	return Source{
		"snapshot":          snap.Snapshot,
		"uuid":              snap.UUID,
		"repository":        t.src.Repository,
		"state":             snap.State,
		"indices":           strings.Join(snap.Indices, ","),
		"shards_total":      strconv.Itoa(snap.Shards.Total),
		"shards_successful": strconv.Itoa(snap.Shards.Successful),
		"shards_failed":     strconv.Itoa(snap.Shards.Failed),
		"es_version":        ci.Version.Number,
		"cluster_uuid":      ci.ClusterUUID,
	}, nil
}

// create starts the snapshot. A snapshot that cannot start because another
// one runs is retried with backoff until the run's deadline.
func (t *Elasticsearch) create(ctx context.Context, name string, opts SnapshotOptions) error {
	body, _ := json.Marshal(map[string]any{
		"indices":              strings.Join(t.src.Indices, ","),
		"include_global_state": t.src.IncludeGlobalState,
		"partial":              false,
		"metadata":             map[string]string{"vigil_backup": t.backup, "vigil_id": opts.ID, "vigil_version": opts.Version},
	})
	var delay time.Duration
	var busy error // the last refusal because another snapshot runs
	deadline := func(attempts int) error {
		return fmt.Errorf("elasticsearch: snapshot %s could not start before the run's deadline: another snapshot kept running through %d attempts: %w", name, attempts, busy)
	}
	for attempt := 1; ; attempt++ {
		err := t.call(ctx, "create snapshot "+name, "create_snapshot", esapi.SnapshotCreateRequest{
			Repository: t.src.Repository, Snapshot: name, Body: bytes.NewReader(body), WaitForCompletion: esapi.BoolPtr(false),
		}, nil)
		if err == nil {
			return nil
		}
		if isType(err, "repository_missing_exception") {
			return fmt.Errorf("elasticsearch: snapshot repository %q is missing: %w", t.src.Repository, err)
		}
		if !isType(err, "concurrent_snapshot_execution_exception", "snapshot_in_progress_exception") {
			if busy != nil && ctx.Err() != nil {
				// The deadline fell during a retry: the cause is still the
				// snapshot that kept running, not a slow cluster.
				return deadline(attempt - 1)
			}
			return err
		}
		busy = err
		delay = t.Retry.next(delay)
		select {
		case <-ctx.Done():
			return deadline(attempt)
		case <-time.After(delay):
		}
	}
}

// wait polls the get snapshot API until the snapshot leaves IN_PROGRESS.
func (t *Elasticsearch) wait(ctx context.Context, name string) (*esSnapshot, error) {
	var delay time.Duration
	for {
		snap, err := t.get(ctx, name)
		switch {
		case err != nil && ctx.Err() == nil && !isType(err, "snapshot_missing_exception"):
			return nil, err
		case err == nil && snap.State == "SUCCESS":
			return snap, nil
		case err == nil && snap.State != "IN_PROGRESS" && snap.State != "STARTED" && snap.State != "INIT":
			return nil, fmt.Errorf("elasticsearch: snapshot %s ended %s: %s; the snapshot was deleted", name, snap.State, shardFailures(snap))
		}
		delay = t.Poll.next(delay)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("elasticsearch: snapshot %s did not finish before the run's deadline; the unfinished snapshot was deleted: %w", name, context.Cause(ctx))
		case <-time.After(delay):
		}
	}
}

func (t *Elasticsearch) get(ctx context.Context, name string) (*esSnapshot, error) {
	var out struct {
		Snapshots []esSnapshot `json:"snapshots"`
	}
	err := t.call(ctx, "get snapshot "+name, "monitor_snapshot", esapi.SnapshotGetRequest{Repository: t.src.Repository, Snapshot: []string{name}}, &out)
	if err != nil {
		return nil, err
	}
	if len(out.Snapshots) != 1 {
		return nil, &esError{Status: 404, Type: "snapshot_missing_exception", Reason: name + " not listed"}
	}
	return &out.Snapshots[0], nil
}

// abandon deletes a snapshot the run gave up on, with a context of its own.
func (t *Elasticsearch) abandon(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = t.DeleteSnapshot(ctx, name)
}

// shardFailures says which shards failed, for the error and the record.
func shardFailures(s *esSnapshot) string {
	msg := fmt.Sprintf("%d of %d shards failed", s.Shards.Failed, s.Shards.Total)
	var parts []string
	for _, f := range s.Failures {
		parts = append(parts, fmt.Sprintf("[%s][%d] %s", f.Index, f.ShardID, f.Reason))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

// RepoSnapshot is a snapshot this backup created, for retention.
type RepoSnapshot struct {
	Name  string
	ID    string
	Time  time.Time
	State string
}

// Repository is implemented by targets whose data lives in their own
// repository (Elasticsearch): retention lists and deletes there.
type Repository interface {
	// Snapshots lists the snapshots this backup created: named with its
	// prefix and carrying its vigil_backup metadata. Others are never listed.
	Snapshots(ctx context.Context) ([]RepoSnapshot, error)
	DeleteSnapshot(ctx context.Context, name string) error
}

// snapshotPage is how many snapshots one listing request asks for: with
// index names left out, a page stays small however many indices each
// snapshot holds.
const snapshotPage = 200

// Snapshots implements Repository. The listing is paginated (size and
// after, without index names), so a repository with hundreds of snapshots
// of thousands of indices never meets a body cap.
func (t *Elasticsearch) Snapshots(ctx context.Context) ([]RepoSnapshot, error) {
	var list []RepoSnapshot
	after := ""
	for page := 0; ; page++ {
		var out struct {
			Snapshots []esSnapshot `json:"snapshots"`
			Next      string       `json:"next"`
		}
		err := t.call(ctx, "list snapshots", "monitor_snapshot", esapi.SnapshotGetRequest{
			Repository: t.src.Repository, Snapshot: []string{t.src.SnapshotPrefix + "-*"}, IgnoreUnavailable: esapi.BoolPtr(true),
			Size: esapi.IntPtr(snapshotPage), After: after, Sort: "start_time", IndexNames: esapi.BoolPtr(false),
		}, &out)
		if err != nil {
			return nil, err
		}
		for _, s := range out.Snapshots {
			if !strings.HasPrefix(s.Snapshot, t.src.SnapshotPrefix+"-") || s.Metadata["vigil_backup"] != t.backup {
				continue
			}
			id, _ := s.Metadata["vigil_id"].(string)
			list = append(list, RepoSnapshot{Name: s.Snapshot, ID: id, Time: time.UnixMilli(s.StartMs).UTC(), State: s.State})
		}
		if out.Next == "" || len(out.Snapshots) == 0 {
			break
		}
		if page > 10000 {
			return nil, fmt.Errorf("elasticsearch: list snapshots: more than %d pages; the listing does not end", page)
		}
		after = out.Next
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Time.After(list[j].Time) })
	return list, nil
}

// DeleteSnapshot implements Repository.
func (t *Elasticsearch) DeleteSnapshot(ctx context.Context, name string) error {
	err := t.call(ctx, "delete snapshot "+name, "manage", esapi.SnapshotDeleteRequest{Repository: t.src.Repository, Snapshot: []string{name}}, nil)
	if isType(err, "snapshot_missing_exception") {
		return nil
	}
	return err
}
