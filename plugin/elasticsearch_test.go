package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/esfake"
)

// These tests run against esfake, the documented-API fake of package
// esfake; elasticsearch_real_test.go runs the shared scenarios against a
// real cluster when ES_URL is set.

func fakeES(t *testing.T) *esfake.Server {
	t.Helper()
	s, err := esfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddIndex("logs-2026.11.20", 1200, 2)
	s.AddIndex("logs-2026.11.21", 800, 1)
	s.AddIndex("metrics", 50, 1)
	return s
}

func esTarget(t *testing.T, url string, src config.ElasticsearchSource) *Elasticsearch {
	t.Helper()
	if src.URL == "" {
		src.URL = url
	}
	if src.Repository == "" {
		src.Repository = "backups"
	}
	if src.SnapshotPrefix == "" {
		src.SnapshotPrefix = "vigil-logs"
	}
	es, err := NewElasticsearch("logs", src, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	es.Poll = Backoff{First: 5 * time.Millisecond, Max: 20 * time.Millisecond}
	es.Retry = Backoff{First: 5 * time.Millisecond, Max: 20 * time.Millisecond}
	return es
}

func esCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func fsRepo() *config.RepositorySettings {
	return &config.RepositorySettings{Type: "fs", Location: "/mnt/backups"}
}

func TestESSnapshotSuccess(t *testing.T) {
	fake := fakeES(t)
	es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"logs-*"}, RepositorySettings: fsRepo()})
	var buf bytes.Buffer
	src, err := es.Snapshot(esCtx(t, 10*time.Second), &buf, SnapshotOptions{ID: "20261121T120000.000Z", Version: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if src["snapshot"] != "vigil-logs-20261121t120000.000z" || src["state"] != "SUCCESS" || src["shards_total"] != "3" ||
		src["indices"] != "logs-2026.11.20,logs-2026.11.21" || src["es_version"] != "8.15.0" || src["cluster_uuid"] == "" || src["uuid"] == "" {
		t.Errorf("source = %v", src)
	}
	var d esDescriptor
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil || d.Snapshot.Snapshot != src["snapshot"] {
		t.Errorf("descriptor %s: %v", buf.String(), err)
	}
	calls := strings.Join(fake.Calls(), "\n")
	for _, want := range []string{"PUT /_snapshot/backups", "POST /_snapshot/backups/_verify", "PUT /_snapshot/backups/vigil-logs-20261121t120000.000z"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q call:\n%s", want, calls)
		}
	}
}

func TestESOnlySuccessIsSuccess(t *testing.T) {
	for _, state := range []string{"PARTIAL", "FAILED"} {
		fake := fakeES(t)
		fake.AddRepository("backups", "fs")
		fake.SetOutcome(state, 3)
		es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"logs-*"}})
		_, err := es.Snapshot(esCtx(t, 10*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
		if err == nil || !strings.Contains(err.Error(), "ended "+state) || !strings.Contains(err.Error(), "[logs-2026.11.20][0]") {
			t.Errorf("%s: err = %v", state, err)
		}
	}
}

func TestESConcurrentSnapshotBackoff(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	fake.RejectCreates(2)
	es := esTarget(t, fake.URL, config.ElasticsearchSource{})
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"}); err != nil {
		t.Fatalf("two refusals then success: %v", err)
	}
	fake.RejectCreates(-1)
	_, err := es.Snapshot(esCtx(t, time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T130000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "could not start before the run's deadline") || !strings.Contains(err.Error(), "concurrent_snapshot_execution_exception") {
		t.Fatalf("refused forever: %v", err)
	}
}

// TestESConcurrentDeadlineMidCall: when the run's deadline falls while a
// retried create is on the wire, the error still names the snapshot that
// kept running, not a slow cluster.
func TestESConcurrentDeadlineMidCall(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	fake.RejectCreates(-1)
	var creates atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/vigil-logs-") && creates.Add(1) > 1 {
			io.Copy(io.Discard, r.Body) // so the server notices the client leave
			select {                    // the second create does not answer within the run
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer slow.Close()
	es := esTarget(t, slow.URL, config.ElasticsearchSource{})
	_, err := es.Snapshot(esCtx(t, 2*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T140000.000Z"})
	if creates.Load() != 2 {
		t.Fatalf("want the deadline to fall during the second create, saw %d creates (err %v)", creates.Load(), err)
	}
	if err == nil || !strings.Contains(err.Error(), "could not start before the run's deadline") || !strings.Contains(err.Error(), "through 1 attempts") {
		t.Fatalf("deadline during a retry: %v", err)
	}
	// The cut-off create may have reached the cluster: vigil deletes the name.
	if calls := strings.Join(fake.Calls(), "\n"); !strings.Contains(calls, "DELETE /_snapshot/backups/vigil-logs-20261121t140000.000z") {
		t.Errorf("no delete of the snapshot whose create was cut off:\n%s", calls)
	}
}

func TestESTimeoutDeletesSnapshot(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	fake.SetOutcome("SUCCESS", 1_000_000)
	es := esTarget(t, fake.URL, config.ElasticsearchSource{})
	_, err := es.Snapshot(esCtx(t, time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "the unfinished snapshot was deleted") {
		t.Fatalf("err = %v", err)
	}
	if snaps := fake.Snapshots("backups"); len(snaps) != 0 {
		t.Errorf("snapshots left: %v", snaps)
	}
}

func TestESErrors(t *testing.T) {
	fake := fakeES(t)
	es := esTarget(t, fake.URL, config.ElasticsearchSource{})
	_, err := es.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), `snapshot repository "backups" does not exist`) {
		t.Errorf("missing repository: %v", err)
	}
	fake.AddRepository("backups", "fs")
	fake.Forbid(true)
	_, err = es.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "monitor_snapshot cluster privilege") {
		t.Errorf("403: %v", err)
	}
	fake.Forbid(false)
	fake.RequireAuth("elastic", "pw")
	_, err = es.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "ES_USERNAME") {
		t.Errorf("401: %v", err)
	}
	dead := esTarget(t, "http://127.0.0.1:1", config.ElasticsearchSource{})
	_, err = dead.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refused: %v", err)
	}
}

func TestESRestoreAndVerify(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"logs-*"}})
	var desc bytes.Buffer
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &desc, SnapshotOptions{ID: "20261121T120000.000Z"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := es.Restore(esCtx(t, 10*time.Second), bytes.NewReader(desc.Bytes()), RestoreOptions{RenamePattern: "logs-(.+)", RenameReplacement: "restored-$1", Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restored-2026.11.20, restored-2026.11.21") {
		t.Errorf("restore report: %q", out.String())
	}
	recoveries := 0
	for _, c := range fake.Calls() {
		if strings.HasSuffix(c, "/_recovery") {
			recoveries++
		}
	}
	if recoveries < 3 {
		t.Errorf("restore returned before recovery was DONE (%d polls)", recoveries)
	}

	before := len(fake.Indices())
	check := func(min int64) *VerifyResult {
		res, err := es.Verify(esCtx(t, 10*time.Second), bytes.NewReader(desc.Bytes()), &config.Verify{Indices: []config.IndexAssertion{{Pattern: "logs-*", MinDocs: min}}}, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(fake.Indices()); n != before {
			t.Errorf("verify left restored indices behind: %v", fake.Indices())
		}
		return res
	}
	if res := check(500); len(res.Failed()) != 0 || len(res.Checks) != 2 || res.Values["docs.logs-2026.11.20"] != int64(1200) {
		t.Errorf("min_docs 500 should pass: %+v", res)
	}
	if res := check(1000); len(res.Failed()) != 1 || !strings.Contains(res.Failed()[0].Detail, "logs-2026.11.21 has 800 documents, expected ≥ 1000") {
		t.Errorf("min_docs 1000 should fail on one index: %+v", res)
	}
}

func TestESRepositoryListsOnlyItsOwn(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	fake.AddSnapshot("backups", "nightly-2026.11.01", "SUCCESS", time.Now().Add(-time.Hour))
	fake.AddSnapshot("backups", "vigil-logs-by-hand", "SUCCESS", time.Now().Add(-time.Hour)) // our prefix, no metadata
	es := esTarget(t, fake.URL, config.ElasticsearchSource{})
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"}); err != nil {
		t.Fatal(err)
	}
	snaps, err := es.Snapshots(esCtx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].ID != "20261121T120000.000Z" || snaps[0].State != "SUCCESS" {
		t.Fatalf("snapshots = %+v", snaps)
	}
}

// TestESEveryFailureDeletesTheSnapshot: once a create may have reached the
// cluster, every way the run fails deletes that snapshot, not only the
// deadline: a get that errors, a PARTIAL end, an empty snapshot.
func TestESEveryFailureDeletesTheSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		setup      func(*esfake.Server)
		indices    []string
	}{
		{"get fails", "master_not_discovered_exception", func(f *esfake.Server) { f.FailGets(1) }, nil},
		{"partial", "ended PARTIAL", func(f *esfake.Server) { f.SetOutcome("PARTIAL", 1) }, nil},
		{"empty", "the backup is empty", func(*esfake.Server) {}, []string{"nothing-matches-*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeES(t)
			fake.AddRepository("backups", "fs")
			tc.setup(fake)
			es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: tc.indices})
			_, err := es.Snapshot(esCtx(t, 10*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			if snaps := fake.Snapshots("backups"); len(snaps) != 0 {
				t.Fatalf("snapshots left after the run failed: %v", snaps)
			}
		})
	}
	// allow_empty keeps the empty one.
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"nothing-matches-*"}})
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z", AllowEmpty: true}); err != nil {
		t.Fatalf("allow_empty: %v", err)
	}
}

// TestESListingIsPaginated: hundreds of snapshots are listed page by page,
// each answer within the page size, and none is lost between pages.
func TestESListingIsPaginated(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	start := time.Now().Add(-1000 * time.Hour)
	for i := 0; i < 450; i++ {
		fake.AddSnapshotWithMetadata("backups", fmt.Sprintf("vigil-logs-%04d", i), "SUCCESS", start.Add(time.Duration(i)*time.Minute),
			map[string]any{"vigil_backup": "logs", "vigil_id": fmt.Sprintf("id-%04d", i)})
	}
	es := esTarget(t, fake.URL, config.ElasticsearchSource{})
	snaps, err := es.Snapshots(esCtx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 450 || snaps[0].ID != "id-0449" || snaps[449].ID != "id-0000" {
		t.Fatalf("%d snapshots, first %+v", len(snaps), snaps[0])
	}
	pages := fake.Listed()
	if len(pages) < 3 {
		t.Fatalf("one answer held them all: %v", pages)
	}
	for _, n := range pages {
		if n > snapshotPage {
			t.Fatalf("an answer held %d snapshots, over the page size %d", n, snapshotPage)
		}
	}
	for _, c := range fake.Calls() {
		if strings.Contains(c, "_snapshot/backups/vigil-logs-*") && !strings.Contains(c, "index_names=false") {
			t.Fatalf("a listing asked for index names: %s", c)
		}
	}
}

// TestESRenameFollowsJavaSyntax: "$1_copy" is group 1 then "_copy" in
// Elasticsearch; the restored names come back from it, not from Go's reading
// of the replacement (a group named "1_copy").
func TestESRenameFollowsJavaSyntax(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"logs-*"}})
	var desc bytes.Buffer
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &desc, SnapshotOptions{ID: "20261121T120000.000Z"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := es.Restore(esCtx(t, 10*time.Second), bytes.NewReader(desc.Bytes()), RestoreOptions{RenamePattern: "(.+)", RenameReplacement: "$1_copy", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "logs-2026.11.20_copy, logs-2026.11.21_copy") {
		t.Fatalf("restore report: %q; indices %v", out.String(), fake.Indices())
	}
}

// TestESRestoreHasADeadline: a restore that does not end fails when its
// deadline passes, saying so.
func TestESRestoreHasADeadline(t *testing.T) {
	fake := fakeES(t)
	fake.AddRepository("backups", "fs")
	es := esTarget(t, fake.URL, config.ElasticsearchSource{Indices: []string{"logs-*"}})
	var desc bytes.Buffer
	if _, err := es.Snapshot(esCtx(t, 10*time.Second), &desc, SnapshotOptions{ID: "20261121T120000.000Z"}); err != nil {
		t.Fatal(err)
	}
	fake.HoldRestores(time.Minute)
	start := time.Now()
	err := es.Restore(esCtx(t, 500*time.Millisecond), bytes.NewReader(desc.Bytes()), RestoreOptions{RenamePattern: "(.+)", RenameReplacement: "r-$1"})
	if err == nil || !strings.Contains(err.Error(), "not done before the restore's deadline") || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

// A server that answers like Elasticsearch but does not say it is one is
// refused, as the official client's product check refuses it; and the
// credentials go in the Authorization header, the API key first.
func TestESProductCheckAndCredentials(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"backups":{"type":"fs","settings":{"location":"/mnt/backups"}}}`)
	}))
	t.Cleanup(srv.Close)
	es := esTarget(t, srv.URL, config.ElasticsearchSource{})
	_, err := es.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
		t.Errorf("a server without X-Elastic-Product: %v", err)
	}

	t.Setenv("ES_API_KEY", "a2V5OnNlY3JldA==")
	t.Setenv("ES_USERNAME", "elastic")
	t.Setenv("ES_PASSWORD", "pw")
	withKey := esTarget(t, srv.URL, config.ElasticsearchSource{})
	withKey.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if got, _ := auth.Load().(string); got != "APIKey a2V5OnNlY3JldA==" {
		t.Errorf("Authorization with ES_API_KEY set = %q, want the API key", got)
	}
	t.Setenv("ES_API_KEY", "")
	basic := esTarget(t, srv.URL, config.ElasticsearchSource{})
	basic.Snapshot(esCtx(t, 5*time.Second), &bytes.Buffer{}, SnapshotOptions{ID: "20261121T120000.000Z"})
	if got, _ := auth.Load().(string); got != "Basic ZWxhc3RpYzpwdw==" {
		t.Errorf("Authorization with ES_USERNAME and ES_PASSWORD = %q, want basic auth", got)
	}
}

// An address that does not parse and carries a password (a -to flag, say)
// is refused without the password in the error: url.Parse's own error
// would quote it.
func TestESUnparseableAddressKeepsItsPassword(t *testing.T) {
	for _, to := range []string{"https://elastic:s3cret%zz@es.example:9200", "https://elastic:s3cret@es.example:9200"} {
		_, err := NewElasticsearch("x", config.ElasticsearchSource{URL: "http://127.0.0.1:9200"}, to, nil)
		if err == nil {
			t.Fatalf("%s: accepted", to)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
