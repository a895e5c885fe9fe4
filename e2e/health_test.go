//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// startServe runs `vigil serve` on the spec and waits until it answers.
func startServe(t *testing.T, dir string) string {
	t.Helper()
	port, err := scratch.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(vigilBin, "serve", "-config", dir, "-addr", addr)
	cmd.Env = envFor("", []string{dir})
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("vigil serve log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/v1/status"); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(logs.String(), "not been read") {
				return "http://" + addr
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vigil serve did not answer:\n%s", logs.String())
	return ""
}

// waitCheck waits until the check on node has state, and returns it.
func waitCheck(t *testing.T, node, checkID, state string, within time.Duration) *consul.HealthCheck {
	t.Helper()
	cc, _ := stack.Consul.Client()
	deadline := time.Now().Add(within)
	var last *consul.HealthCheck
	for time.Now().Before(deadline) {
		checks, _, err := cc.Health().Node(node, nil)
		if err == nil {
			for _, c := range checks {
				if c.CheckID == checkID {
					last = c
					if c.Status == state {
						return c
					}
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("check %s on %s did not turn %s within %s; last: %+v", checkID, node, state, within, last)
	return nil
}

// statsdListener collects what arrives on a UDP port.
type statsdListener struct {
	conn *net.UDPConn
	mu   sync.Mutex
	buf  strings.Builder
}

func listenStatsd(t *testing.T) *statsdListener {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := &statsdListener{conn: conn}
	go func() {
		b := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFromUDP(b)
			if err != nil {
				return
			}
			l.mu.Lock()
			l.buf.Write(b[:n])
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return l
}

func (l *statsdListener) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestHealthFollowsRuns: after a good run the backup's Consul check is
// passing with the run's summary as output; after a failing run (a stopped
// etcd) it is critical and /v1/status/<name> answers 503 with the error.
// The runs' metrics reach a statsd listener, /metrics is Prometheus text,
// and vigil status reports the same.
func TestHealthFollowsRuns(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	// An etcd that vigil setup reaches, then stopped before the run.
	stopped, err := harness.StartEtcd(ctx, t.TempDir(), "etcd-stopped", 0, stack.Sec)
	if err != nil {
		t.Fatal(err)
	}
	defer stopped.Stop()
	statsd := listenStatsd(t)
	node := "vigil-health"
	dir, _ := specDir(t, fmt.Sprintf(`
serve {
  node = %q
}

telemetry {
  statsd_address = %q
}

backup "consul_kv" "health-good" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}

backup "etcd" "health-bad" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}`, node, statsd.conn.LocalAddr().String(), consulSource(t, stack.Consul.URL(), ""), etcdSource(t, stopped.Endpoint)))
	stopped.Stop()
	url := startServe(t, dir)

	if r := vigil(t, tok, "run", "-config", dir, "-backup", "health-good"); r.code != 0 {
		t.Fatalf("good run: %s", r)
	}
	c := waitCheck(t, node, "vigil:health-good", "passing", 30*time.Second)
	if !strings.HasPrefix(c.Output, "succeeded at ") || !strings.Contains(c.Output, "health-good/") {
		t.Errorf("passing check output: %q", c.Output)
	}
	r := vigil(t, tok, "run", "-config", dir, "-backup", "health-bad")
	if r.code != 1 {
		t.Fatalf("a run against a stopped etcd must fail: %s", r)
	}
	c = waitCheck(t, node, "vigil:health-bad", "critical", 30*time.Second)
	if !strings.HasPrefix(c.Output, "failed at ") || !strings.Contains(c.Output, "etcd") {
		t.Errorf("critical check output: %q", c.Output)
	}

	resp, err := http.Get(url + "/v1/status/health-bad")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Healthy bool `json:"healthy"`
		Last    struct {
			Status   string `json:"status"`
			ExitCode int    `json:"exit_code"`
			Error    string `json:"error"`
		} `json:"last"`
		NextExpected time.Time `json:"next_expected"`
		Schedule     string    `json:"schedule"`
	}
	json.Unmarshal(body, &st)
	if resp.StatusCode != http.StatusServiceUnavailable || st.Healthy || st.Last.Status != "failed" || st.Last.ExitCode != 1 ||
		!strings.Contains(st.Last.Error, "etcd") || st.Schedule != "0 * * * *" || st.NextExpected.IsZero() {
		t.Errorf("GET /v1/status/health-bad: %d %s", resp.StatusCode, body)
	}
	if resp, _ := http.Get(url + "/v1/status/health-good"); resp == nil || resp.StatusCode != 200 {
		t.Errorf("a healthy backup should answer 200")
	}

	resp, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	if _, ok := families["vigil_backup_healthy"]; !ok {
		t.Errorf("/metrics lacks vigil_backup_healthy; has %d families", len(families))
	}

	got := statsd.text()
	for _, want := range []string{"vigil.backup.runs.health-good.succeeded:1", "vigil.backup.runs.health-bad.failed:1", "vigil.backup.bytes.health-good:"} {
		if !strings.Contains(got, want) {
			t.Errorf("statsd did not receive %q; got:\n%s", want, got)
		}
	}

	// The Consul UI shows it: each backup's check by name, in its state.
	checks := consulUIChecks(t, node, []string{"backup health-good", "backup health-bad"}, artifact("consul-ui-checks.png"), tokensFor([]string{dir}).Consul)
	states := map[string]string{}
	for _, c := range checks {
		states[c.Name] = c.State
	}
	if states["backup health-good"] != "passing" || states["backup health-bad"] != "critical" {
		t.Errorf("the Consul UI shows %v", checks)
	}

	r = vigil(t, "", "status", "-config", dir)
	if r.code != 2 || !strings.Contains(r.stdout, "health-bad") || !strings.Contains(r.stdout, "critical") {
		t.Errorf("vigil status: %s", r)
	}
	if r := vigil(t, "", "status", "-config", dir, "health-good"); r.code != 0 || !strings.Contains(r.stdout, "passing") {
		t.Errorf("vigil status health-good: %s", r)
	}
}

// TestOverdueTurnsCritical: a backup that should run every minute, with a
// 5s grace, turns critical as overdue once the expected run and the grace
// have passed with no new record.
func TestOverdueTurnsCritical(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	tok := entityToken(t, ctx)
	node := "vigil-overdue"
	dir, _ := specDir(t, fmt.Sprintf(`
serve {
  node = %q
}

backup "consul_kv" "health-late" {
  schedule = "* * * * *"
  grace    = "5s"
  storage  = storage.s3.sts
  %s
}`, node, consulSource(t, stack.Consul.URL(), "")))
	if r := vigil(t, tok, "run", "-config", dir, "-backup", "health-late"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	last := lastRecord(t, "health-late")
	deadline := last.StartedAt.Truncate(time.Minute).Add(time.Minute + 5*time.Second)
	startServe(t, dir)
	if time.Now().Before(deadline) {
		waitCheck(t, node, "vigil:health-late", "passing", 20*time.Second)
	}
	c := waitCheck(t, node, "vigil:health-late", "critical", time.Until(deadline)+30*time.Second)
	turned := time.Now()
	if turned.Before(deadline) {
		t.Errorf("critical at %s, before the deadline %s", turned, deadline)
	}
	if !strings.HasPrefix(c.Output, "overdue") {
		t.Errorf("output: %q", c.Output)
	}
	t.Logf("overdue %s after the deadline (refresh every 5s)", turned.Sub(deadline).Round(100*time.Millisecond))
}
