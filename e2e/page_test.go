//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestStatusPages: vigil serve's pages, in headless Chromium, over records
// real runs and drills wrote: each condition shows on the fleet page,
// failing and overdue first; a failing backup's error is on both pages;
// the filter keeps only what it names; a backup's page has its runs,
// drills and charts with their text; the pages fit a phone. A screenshot
// of each page is kept under .work/artifacts.
func TestStatusPages(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 6*time.Minute)
	tok := entityToken(t, ctx)
	verify := fmt.Sprintf(`verify {
    min_keys = 1
    scratch {
      consul = %q
    }
  }`, tool("consul"))
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "page-ok" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  %[2]s
}

backup "consul_kv" "page-failing" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[3]s
}

backup "consul_kv" "page-drill" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  %[2]s
}

backup "consul_kv" "page-overdue" {
  schedule = "0 * * * *"
  grace    = "5m"
  storage  = storage.s3.sts
  %[1]s
}

backup "consul_kv" "page-never" {
  schedule = "0 0 1 1 *"
  storage  = storage.s3.sts
  %[1]s
}`, consulSource(t, stack.Consul.URL(), ""), verify, consulSource(t, stack.Consul.URL(), "pagefail/")))
	// After setup (which writes policies on every Consul a backup reads),
	// page-failing's Consul goes away.
	live := fmt.Sprintf("address = %q\n    prefix  = \"pagefail/\"", stack.Consul.URL())
	if spec := readSpec(t, dir); strings.Contains(spec, live) {
		writeSpec(t, dir, strings.Replace(spec, live, "address = \"https://127.0.0.1:1\"\n    prefix  = \"pagefail/\"", 1))
	} else {
		t.Fatalf("no %q in the spec", live)
	}
	for _, b := range []string{"page-ok", "page-ok", "page-drill"} {
		if r := vigil(t, tok, "run", "-config", dir, "-backup", b); r.code != 0 {
			t.Fatalf("run %s: %s", b, r)
		}
	}
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "page-failing"); r.code != 1 {
		t.Fatalf("run page-failing: %s", r)
	}
	if r := vigilTmp(t, tok, t.TempDir(), "verify", "-config", dir, "-backup", "page-ok"); r.code != 0 {
		t.Fatalf("drill page-ok: %s", r)
	}
	// page-drill: an older backup whose drill passed, then a newer one
	// whose object is tampered with, so its drill fails.
	if r := vigilTmp(t, tok, t.TempDir(), "verify", "-config", dir, "-backup", "page-drill"); r.code != 0 {
		t.Fatalf("drill page-drill: %s", r)
	}
	older, _ := latestManifest(t, ctx, prefix, "page-drill")
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "page-drill"); r.code != 0 {
		t.Fatalf("run page-drill again: %s", r)
	}
	m, _ := latestManifest(t, ctx, prefix, "page-drill")
	if m.ID == older.ID {
		t.Fatalf("no newer backup than %s", older.ID)
	}
	flipByte(t, ctx, prefix+m.Object)
	if r := vigilTmp(t, tok, t.TempDir(), "verify", "-config", dir, "-backup", "page-drill"); r.code != 1 ||
		!strings.Contains(r.stderr, "vigil list -backup page-drill") || !strings.Contains(r.stderr, "the newest verified one is -id "+older.ID) {
		t.Fatalf("drill of a corrupt page-drill (with the next step): %s", r)
	}
	checkDrillVerdicts(t, tok, dir, older.ID, m.ID)
	cc, _ := stack.Consul.Client()
	if err := (&record.Consul{Client: cc}).Register(ctx, "page-overdue", time.Now().Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	url := startServe(t, dir)
	want := map[string]string{"page-ok": health.CondPassing, "page-failing": health.CondFailing, "page-drill": health.CondDrillFailing,
		"page-overdue": health.CondOverdue, "page-never": health.CondNeverRan}
	waitConditions(t, url, want)

	c := chromium(t, 1280, 900)
	open := func(path string) {
		t.Helper()
		if _, err := chromedp.Run(c, chromedp.Navigate(url+path)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	rows := func() []string {
		return strings.Fields(eval(`Array.from(document.querySelectorAll("#fleet tbody tr[data-backup]")).map(r => r.dataset.backup + "=" + r.dataset.state.replace(" ", "_")).join(" ")`))
	}

	open("/")
	got := rows()
	if len(got) != len(want) {
		t.Fatalf("fleet rows: %v", got)
	}
	for _, r := range got {
		name, state, _ := strings.Cut(r, "=")
		if want[name] != strings.ReplaceAll(state, "_", " ") {
			t.Errorf("%s shows %q, want %q", name, state, want[name])
		}
	}
	if first := strings.SplitN(got[0], "=", 2)[1]; first != "failing" {
		t.Errorf("the first row is %s: failing and overdue come first (%v)", got[0], got)
	}
	if out := eval(`document.querySelector('tr[data-backup="page-failing"]').innerText`); !strings.Contains(out, "failed at") {
		t.Errorf("the fleet row of a failing backup does not show its error: %q", out)
	}
	if out := eval(`document.querySelector('tr[data-backup="page-failing"] .reason').title`); !strings.Contains(out, "connection refused") {
		t.Errorf("the fleet row's reason has not the whole error as its title: %q", out)
	}
	// The newest verified-good backup of page-drill is the older one, not
	// the one whose drill failed, and its row says why it is unhealthy.
	if v := eval(`document.querySelector('tr[data-backup="page-drill"] td[data-label="Newest verified-good"]').innerText`); !strings.Contains(v, older.ID) {
		t.Errorf("page-drill's newest verified-good is not %s: %q", older.ID, v)
	}
	if v := eval(`document.querySelector('tr[data-backup="page-drill"] td[data-label="State"]').innerText`); !strings.Contains(v, "drill failed") || !strings.Contains(v, m.ID) {
		t.Errorf("page-drill's state does not say its drill failed on %s: %q", m.ID, v)
	}
	// No cell wraps past three lines at 1280 px.
	// A cell is as tall as its row: measure what is drawn in it.
	if tall := eval(`Array.from(document.querySelectorAll("#fleet tbody td")).filter(td => {
		const lh = parseFloat(getComputedStyle(td).lineHeight) || 20;
		// The boxes of its elements, as drawn: a clamped reason counts its
		// visible lines only (a Range would count the hidden ones too).
		const rs = Array.from(td.querySelectorAll("*")).map(e => e.getBoundingClientRect()).filter(r => r.height > 0);
		if (rs.length == 0 || td.querySelector("svg") != null) return false;
		const h = Math.max(...rs.map(r => r.bottom)) - Math.min(...rs.map(r => r.top));
		return h > 3.5 * lh;
	}).map(td => td.closest("tr").dataset.backup + "/" + td.dataset.label).join(" ")`); tall != "" {
		t.Errorf("cells wrap past three lines at 1280 px: %s", tall)
	}
	if desc := eval(`document.querySelector('tr[data-backup="page-ok"] svg desc').textContent`); !strings.Contains(desc, "size: latest") || !strings.Contains(desc, "over 2 runs") {
		t.Errorf("the chart's text equivalent: %q", desc)
	}
	if v := eval(`document.querySelector('tr[data-backup="page-ok"]').innerText`); !strings.Contains(v, "old") || !regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).MatchString(v) || !strings.Contains(v, "ago") {
		t.Errorf("page-ok row: verified-good age and UTC times with their age: %q", v)
	}
	screenshot(t, c, artifact("status-fleet.png"))
	open("/backups/page-drill")
	if v := eval(`document.querySelector("#verified-id").textContent`); v != older.ID {
		t.Errorf("page-drill's page names %q as newest verified-good, want %s", v, older.ID)
	}
	screenshot(t, c, artifact("status-backup-drill.png"))

	open("/?state=failing")
	if got := rows(); len(got) != 1 || got[0] != "page-failing=failing" {
		t.Errorf("filtered by state failing: %v", got)
	}
	open("/?type=etcd")
	if got := rows(); len(got) != 0 {
		t.Errorf("filtered by a type no backup has: %v", got)
	}

	open("/backups/page-failing")
	if e := eval(`document.querySelector("#last-error").textContent`); !strings.Contains(e, "connection refused") || !strings.Contains(e, "127.0.0.1:1") {
		t.Errorf("the backup page's error: %q", e)
	}
	if n := eval(`String(document.querySelectorAll('#runs tbody tr[data-status="failed"] pre.error').length)`); n != "1" {
		t.Errorf("failed runs with their error in the runs table: %s", n)
	}
	screenshot(t, c, artifact("status-backup-failing.png"))

	open("/backups/page-ok")
	if n := eval(`String(document.querySelectorAll('#runs tbody tr[data-status="succeeded"]').length)`); n != "2" {
		t.Errorf("page-ok runs: %s", n)
	}
	if d := eval(`document.querySelector('#drills tbody tr[data-status="succeeded"]').innerText`); !strings.Contains(d, "s") || strings.Contains(d, "–\t–") {
		t.Errorf("page-ok's drill row has no RTO/RPO: %q", d)
	}
	caps := eval(`Array.from(document.querySelectorAll("figcaption")).map(f => f.textContent).join("\n")`)
	for _, w := range []string{"size: latest", "duration: latest", "RTO (restore time): latest", "RPO (backup age when drilled): latest"} {
		if !strings.Contains(caps, w) {
			t.Errorf("chart captions lack %q:\n%s", w, caps)
		}
	}
	if link := eval(`document.querySelector('a[href*="/health-checks"]').href`); !strings.Contains(link, "/ui/dc1/nodes/") {
		t.Errorf("the Consul check link: %q", link)
	}
	if link := eval(`document.querySelector('a[href*="/ui/jobs/"]').href`); !strings.Contains(link, "/ui/jobs/vigil-page-ok@default") {
		t.Errorf("the Nomad job link: %q", link)
	}
	screenshot(t, c, artifact("status-backup.png"))

	phone := chromium(t, 390, 844)
	if _, err := chromedp.Run(phone, chromedp.Navigate(url+"/")); err != nil {
		t.Fatal(err)
	}
	if fits, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`)); err != nil || !fits {
		t.Errorf("the fleet page is wider than a phone: %v", err)
	}
	screenshot(t, phone, artifact("status-fleet-phone.png"))
}

// checkDrillVerdicts: after the drill of newer failed, vigil status says
// why in its table, vigil list marks newer, restore -latest takes older
// and says what it passed over, and restore -id newer asks for -force.
func checkDrillVerdicts(t *testing.T, tok, dir, older, newer string) {
	t.Helper()
	r := vigil(t, tok, "status", "-config", dir, "page-drill")
	if r.code != 2 || !strings.Contains(r.stdout, "Reason") || !strings.Contains(r.stdout, "the last drill failed on backup "+newer) {
		t.Errorf("vigil status shows no reason for page-drill in its table: %s", r)
	}
	r = vigil(t, tok, "list", "-config", dir, "-backup", "page-drill")
	var marked, verified bool
	for _, line := range strings.Split(r.stdout, "\n") {
		marked = marked || strings.HasPrefix(line, newer) && strings.Contains(line, "DRILL FAILED")
		verified = verified || strings.HasPrefix(line, older) && strings.Contains(line, "verified ")
	}
	if r.code != 0 || !marked || !verified {
		t.Errorf("vigil list does not mark %s as failed and %s as verified: %s", newer, older, r)
	}
	// Restores write with the operator's own token, as restoreAs does,
	// into a fresh Consul: the backup holds the whole KV, the control
	// Consul's run records among it.
	fresh := freshConsul(t, testContext(t, 2*time.Minute), "page-drill-restore")
	restore := func(args ...string) result {
		env := tokensFor([]string{dir})
		env.Consul = fresh.Management
		if tok != "" {
			env.Vault = tok
		}
		return vigilEnv(t, stack.Env(env), append([]string{"restore", "-auto-approve", "-config", dir, "-backup", "page-drill", "-to", fresh.URL()}, args...)...)
	}
	r = restore("-latest")
	if r.code != 0 || !strings.Contains(r.stdout, "restored page-drill backup "+older) || !strings.Contains(r.stdout, "passed over newer "+newer+": drill failed") {
		t.Errorf("restore -latest did not take the newest verified backup %s: %s", older, r)
	}
	r = restore("-id", newer)
	if r.code != 1 || !strings.Contains(r.stderr, "failed its drill") || !strings.Contains(r.stderr, "-force") || !strings.Contains(r.stderr, "-id "+older) {
		t.Errorf("restore -id of a backup whose drill failed: %s", r)
	}
}

// waitConditions waits until serve's status shows each backup in its
// condition.
func waitConditions(t *testing.T, url string, want map[string]string) {
	t.Helper()
	var last map[string]string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url + "/v1/status")
		if err != nil {
			continue
		}
		var st []health.Status
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		last = map[string]string{}
		for _, s := range st {
			last[s.Backup] = health.Condition(s)
		}
		ok := true
		for k, v := range want {
			ok = ok && last[k] == v
		}
		if ok {
			return
		}
	}
	t.Fatalf("conditions: %v, want %v", last, want)
}
