//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
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
	m, data := latestManifest(t, ctx, prefix, "page-drill")
	flipByte(t, ctx, prefix+m.Object)
	_ = data
	if r := vigilTmp(t, tok, t.TempDir(), "verify", "-config", dir, "-backup", "page-drill"); r.code != 1 {
		t.Fatalf("drill of a corrupt page-drill: %s", r)
	}
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
	if out := eval(`document.querySelector('tr[data-backup="page-failing"]').innerText`); !strings.Contains(out, "connection refused") {
		t.Errorf("the fleet row of a failing backup does not show its error: %q", out)
	}
	if desc := eval(`document.querySelector('tr[data-backup="page-ok"] svg desc').textContent`); !strings.Contains(desc, "size: latest") || !strings.Contains(desc, "over 2 runs") {
		t.Errorf("the chart's text equivalent: %q", desc)
	}
	if v := eval(`document.querySelector('tr[data-backup="page-ok"]').innerText`); !strings.Contains(v, "old") || !strings.Contains(v, "UTC") || !strings.Contains(v, "ago") {
		t.Errorf("page-ok row: verified-good age and UTC times with their age: %q", v)
	}
	screenshot(t, c, artifact("status-fleet.png"))

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
