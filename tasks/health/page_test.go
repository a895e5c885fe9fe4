package health

import (
	"compress/gzip"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// The pages escape what records hold (an error is text, never markup),
// put the worst first, and answer 404 for a backup no spec declares.
func TestPagesEscapeAndOrder(t *testing.T) {
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	book := &record.Store{S: s}
	backups := []config.Backup{
		{Name: "a-good", Type: config.TypeConsulKV, Schedule: "0 * * * *"},
		{Name: "z-bad", Type: config.TypeEtcd, Schedule: "0 * * * *"},
	}
	ctx := context.Background()
	now := time.Now().UTC()
	end := now.Add(-time.Minute)
	good := record.Run{Backup: "a-good", Kind: record.KindBackup, ID: "1", Status: record.Succeeded, StartedAt: end.Add(-time.Second), FinishedAt: &end, Size: 2048}
	bad := record.Run{Backup: "z-bad", Kind: record.KindBackup, ID: "1", Status: record.Failed, StartedAt: end.Add(-time.Second), FinishedAt: &end,
		Error: `etcd: <script>alert("x")</script> refused`}
	for _, r := range []record.Run{good, bad} {
		if err := book.Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w := &Watcher{Backups: backups, Book: book, Since: now.Add(-time.Hour), Log: hclog.NewNullLogger()}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h := Handler(w, nil, &Page{Watcher: w, Book: book, Config: "t"})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	code, body := get("/")
	if code != 200 || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("fleet page: %d, escaped: %v", code, strings.Contains(body, "&lt;script&gt;"))
	}
	if i, j := strings.Index(body, `data-backup="z-bad"`), strings.Index(body, `data-backup="a-good"`); i < 0 || j < 0 || i > j {
		t.Errorf("the failing backup is not first: %d %d", i, j)
	}
	if _, body := get("/?type=etcd"); strings.Contains(body, `data-backup="a-good"`) || !strings.Contains(body, `data-backup="z-bad"`) {
		t.Error("the type filter kept the wrong rows")
	}
	if code, body := get("/backups/z-bad"); code != 200 || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; refused") {
		t.Errorf("backup page: %d, error shown in full and escaped: %v", code, strings.Contains(body, "refused"))
	}
	if code, _ := get("/backups/nobody"); code != 404 {
		t.Errorf("a backup no spec declares: %d", code)
	}
}

// A client that takes gzip gets the page gzipped, and the same page.
func TestPageGzip(t *testing.T) {
	w := &Watcher{statuses: map[string]Status{"a": {Backup: "a", Type: "etcd", State: Passing}}, loaded: true}
	w.init()
	p := &Page{Watcher: w, Config: "t"}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	p.Fleet(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), `data-backup="a"`) {
		t.Errorf("gunzipped page: %.200s", body)
	}
}

// A backup whose newest drill failed: its row says "drill failed" with a
// clipped one-line reason (the whole reason in the title), the newest
// verified-good cell names the older verified ID, the backup page lists
// the failed ID, and a backup with one run draws a labelled point.
func TestPageShowsVerdicts(t *testing.T) {
	s, _ := local.New(t.TempDir())
	book := &record.Store{S: s}
	b := config.Backup{Name: "kv", Type: config.TypeConsulKV, Schedule: "0 * * * *", Timeout: time.Hour,
		Verify: &config.Verify{MaxAge: 24 * time.Hour}}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	t1, t2 := now.Add(-2*time.Hour), now.Add(-time.Hour)
	id1, id2 := "20261205T100000.000Z", "20261205T110000.000Z"
	long := "verify kv: checksum check failed, no restore attempted: " + strings.Repeat("ab", 64) + " differs from the manifest"
	for _, r := range []record.Run{
		{Backup: "kv", Kind: record.KindBackup, ID: id1, Status: record.Succeeded, StartedAt: t1, FinishedAt: &t1, Size: 2048, SHA256: strings.Repeat("c", 64)},
		{Backup: "kv", Kind: record.KindVerify, ID: "d1", Status: record.Succeeded, StartedAt: t1, FinishedAt: &t1, Verify: &record.Verify{BackupID: id1, BackupTime: t1, RestoreTime: 3 * time.Second}},
		{Backup: "kv", Kind: record.KindBackup, ID: id2, Status: record.Succeeded, StartedAt: t2, FinishedAt: &t2, Size: 4096,
			Retention: &record.Retention{Kept: 1, Quarantined: []string{"20261101T000000.000Z"}}},
		{Backup: "kv", Kind: record.KindVerify, ID: "d2", Status: record.Failed, StartedAt: t2, FinishedAt: &t2, Error: long, Verify: &record.Verify{BackupID: id2, BackupTime: t2}},
	} {
		if err := book.Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w := &Watcher{Backups: []config.Backup{b}, Book: book, Since: now.Add(-3 * time.Hour), Log: hclog.NewNullLogger()}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h := Handler(w, nil, &Page{Watcher: w, Book: book, Config: "t"})
	get := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Body.String()
	}
	body := get("/")
	if !strings.Contains(body, `<span class="verdict">drill failed</span>`) {
		t.Errorf("no verdict in the row:\n%s", body)
	}
	if !strings.Contains(body, `title="the last drill failed on backup `+id2) || !strings.Contains(body, "…</span>") {
		t.Errorf("the reason is not clipped with its full text as title")
	}
	if !strings.Contains(body, `<code class="id" title="backup `+id1) {
		t.Errorf("newest verified-good is not the older verified ID %s", id1)
	}
	if !strings.Contains(body, "1 unreadable manifests kept") {
		t.Errorf("the unreadable manifests retention kept are not counted")
	}
	if strings.Contains(body, "UTC</time>") {
		t.Errorf("a second time format on the page")
	}
	page := get("/backups/kv")
	if !strings.Contains(page, `<code id="verified-id">`+id1+`</code>`) || !strings.Contains(page, "<li><code>"+id2+"</code>: verify kv: checksum") {
		t.Errorf("backup page: verified ID or failed drills missing")
	}
	if !strings.Contains(page, `title="`+strings.Repeat("c", 64)+`"`) {
		t.Errorf("the hash has no title")
	}
	// RTO is recorded on one drill only: one labelled point.
	if !strings.Contains(page, ", 1 run</text>") {
		t.Errorf("a single point is not labelled")
	}
}
