package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

// fleetServe is one vigil serve process behind its own counting proxy in
// front of the control Consul.
type fleetServe struct {
	cmd   *exec.Cmd
	proxy *harness.HTTPProxy
	url   string
	log   strings.Builder
}

func (s *fleetServe) hits() int { return s.proxy.Hits("") }

// peakRSS is the process's high-water resident set so far (VmHWM).
func (s *fleetServe) peakRSS() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (b *bench) startServe(dir, consulURL string) (*fleetServe, error) {
	p, err := harness.StartHTTPProxy(consulURL, nil, nil)
	if err != nil {
		return nil, err
	}
	port, err := scratch.FreePort()
	if err != nil {
		return nil, err
	}
	s := &fleetServe{proxy: p, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.cmd = exec.Command(b.vigil, "serve", "-config", dir, "-addr", fmt.Sprintf("127.0.0.1:%d", port))
	// CONSUL_HTTP_ADDR wins over the spec's address: each serve talks to
	// Consul through its own proxy, which counts its requests.
	s.cmd.Env = append(b.env(), "CONSUL_HTTP_ADDR="+p.URL)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if d := os.Getenv("VIGIL_BENCH_SERVE_LOG"); d != "" {
		f, err := os.Create(fmt.Sprintf("%s/serve-%d.log", d, port))
		if err == nil {
			s.cmd.Stdout, s.cmd.Stderr = f, f
			s.cmd.Env = append(s.cmd.Env, "GODEBUG=gctrace=1")
		}
	}
	return s, s.cmd.Start()
}

func (s *fleetServe) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	s.proxy.Close()
}

// fleet registers *fleetN backups with weeks of history on one control
// Consul and runs two vigil serve processes against it: what they ask of
// Consul at steady state and after a record lands, how soon the check
// and the page follow, their memory, the time to render the fleet page,
// and apply and plan of the fleet against a real Nomad.
func (b *bench) fleet(ctx context.Context) error {
	n := *fleetN
	fmt.Printf("== fleet: %d backups on one control Consul, two vigil serve\n", n)
	c, err := harness.StartConsul(ctx, b.dir, "consul-fleet", nil)
	if err != nil {
		return err
	}
	defer c.Stop()
	cc, err := c.Client()
	if err != nil {
		return err
	}
	node := "vigil-fleet"
	header := fmt.Sprintf("consul {\n  address = %q\n}\nserve {\n  count = 2\n  node  = %q\n}\nnomad {\n  driver = \"raw_exec\"\n  binary = %q\n}\n", c.URL(), node, b.vigil)
	dir, err := b.manySpecs("fleet", n, header)
	if err != nil {
		return err
	}
	start := time.Now()
	perBackup, err := seedFleet(ctx, cc, n, time.Now().UTC())
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d backups in %.1fs: %s of KV per backup (%d runs of history each)\n", n, time.Since(start).Seconds(), record.HumanBytes(int64(perBackup)), record.DefaultHistory)

	var serves []*fleetServe
	defer func() {
		for _, s := range serves {
			s.stop()
		}
	}()
	for i := 0; i < 2; i++ {
		s, err := b.startServe(dir, c.URL())
		if err != nil {
			return err
		}
		serves = append(serves, s)
	}
	start = time.Now()
	for _, s := range serves {
		if err := waitReady(ctx, s.url, n); err != nil {
			return err
		}
	}
	ready := time.Since(start)
	if err := waitChecks(ctx, cc, node, n); err != nil {
		return err
	}
	leader, follower := serves[0], serves[1]
	if leader.proxy.Hits("PUT /v1/catalog/register") == 0 {
		leader, follower = follower, leader
	}
	fmt.Printf("both serving %d backups %.1fs after start; the leader wrote %d checks\n", n, ready.Seconds(), n)

	time.Sleep(5 * time.Second)
	window := *fleetWindow
	l0, f0 := leader.hits(), follower.hits()
	time.Sleep(window)
	steadyL := float64(leader.hits()-l0) / window.Seconds()
	steadyF := float64(follower.hits()-f0) / window.Seconds()

	// One backup's run lands: a failed run, written as runs write it.
	name := fmt.Sprintf("kv-%05d", n/2)
	l0, f0 = leader.hits(), follower.hits()
	now := time.Now().UTC()
	end := now.Add(time.Second)
	run := record.Run{Backup: name, Kind: record.KindBackup, ID: now.Format("20060102T150405.000Z"), Status: record.Failed, ExitCode: 1,
		StartedAt: now, FinishedAt: &end, Error: "bench: the run failed on purpose"}
	landed := time.Now()
	if err := (&record.Consul{Client: cc}).Finish(ctx, run); err != nil {
		return err
	}
	toCheck, toPageL, toPageF := make(chan time.Duration, 1), make(chan time.Duration, 1), make(chan time.Duration, 1)
	go func() { toCheck <- waitFor(ctx, func() bool { return checkState(cc, node, name) == health.Critical }) }()
	go func() {
		toPageL <- waitFor(ctx, func() bool { return pageShows(leader.url, name, health.CondFailing) })
	}()
	go func() {
		toPageF <- waitFor(ctx, func() bool { return pageShows(follower.url, name, health.CondFailing) })
	}()
	check, pageL, pageF := <-toCheck, <-toPageL, <-toPageF
	time.Sleep(10*time.Second - time.Since(landed))
	afterL, afterF := leader.hits()-l0, follower.hits()-f0

	renderL, err := renderTimes(leader.url, 20)
	if err != nil {
		return err
	}
	renderF, err := renderTimes(follower.url, 20)
	if err != nil {
		return err
	}
	rssL, rssF := leader.peakRSS(), follower.peakRSS()
	for _, s := range serves {
		s.stop()
	}
	serves = nil

	// The same fleet, scheduled once a year so that no periodic job
	// launches while apply and plan are timed.
	yearly, err := b.manySpecsAt("fleet-apply", n, header, func(int) string { return "0 0 1 1 *" })
	if err != nil {
		return err
	}
	applyD, planD, err := b.fleetApplyPlan(ctx, yearly, c.URL())
	if err != nil {
		return err
	}

	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("\n%-44s %12s %12s   %s\n", fmt.Sprintf("fleet of %d backups", n), "leader", "follower", "goal")
	fmt.Printf("%-44s %12.2f %12.2f   <= 5/s per allocation: %s\n", fmt.Sprintf("Consul requests/s at steady state (%s)", window), steadyL, steadyF, met(steadyL <= 5 && steadyF <= 5))
	fmt.Printf("%-44s %12d %12d\n", "Consul requests in the 10 s after a run", afterL, afterF)
	fmt.Printf("%-44s %12s %12s   <= 2 s: %s\n", "record landed -> Consul check critical", ms(check), "–", met(check <= 2*time.Second))
	fmt.Printf("%-44s %12s %12s\n", "record landed -> page shows it failing", ms(pageL), ms(pageF))
	fmt.Printf("%-44s %12s %12s   <= 128 MiB: %s\n", "peak RSS", record.HumanBytes(rssL), record.HumanBytes(rssF), met(rssL <= 128<<20 && rssF <= 128<<20))
	fmt.Printf("%-44s %12s %12s   <= 200 ms: %s\n", "render / (median of 20; max)", ms(renderL[len(renderL)/2])+"; "+ms(renderL[len(renderL)-1]),
		ms(renderF[len(renderF)/2])+"; "+ms(renderF[len(renderF)-1]), met(renderL[len(renderL)/2] <= 200*time.Millisecond && renderF[len(renderF)/2] <= 200*time.Millisecond))
	fmt.Printf("%-44s %12s\n", "first full read of the records (both)", secs(ready))
	fmt.Printf("%-44s %12s\n", "KV per backup (latest records and history)", record.HumanBytes(int64(perBackup)))
	fmt.Printf("%-44s %12s\n", fmt.Sprintf("vigil apply of %d backups (new jobs)", n), secs(applyD))
	fmt.Printf("%-44s %12s   <= 3 s: %s\n\n", fmt.Sprintf("vigil plan of %d backups (jobs present)", n), secs(planD), met(planD <= 3*time.Second))
	return nil
}

// fleetApplyPlan applies the fleet to a fresh Nomad, then plans it again
// with every job present (a no-op plan reads and diffs them all).
func (b *bench) fleetApplyPlan(ctx context.Context, dir, consulURL string) (time.Duration, time.Duration, error) {
	nm, err := harness.StartNomad(ctx, b.dir, nil, nil, nil, nil)
	if err != nil {
		return 0, 0, err
	}
	defer nm.Stop()
	env := append(b.env(), "CONSUL_HTTP_ADDR="+consulURL)
	a, err := measure(env, b.vigil, "apply", "-auto-approve", "-address", nm.URL(), dir)
	if err != nil {
		return 0, 0, err
	}
	var plans series
	for i := 0; i < *runs; i++ {
		p, err := measure(env, b.vigil, "plan", "-address", nm.URL(), dir)
		if err != nil && !strings.Contains(err.Error(), "exit status 1") {
			return 0, 0, err
		}
		plans = append(plans, p)
	}
	return a.d, plans.median(), nil
}

func waitReady(ctx context.Context, url string, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(url + "/v1/status"); err == nil {
			var st []health.Status
			err := json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && len(st) == n {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("vigil serve at %s never served %d backups", url, n)
}

func waitChecks(ctx context.Context, cc *consul.Client, node string, n int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if checks, _, err := cc.Health().Node(node, nil); err == nil && len(checks) >= n {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("the leader never wrote %d checks on %s", n, node)
}

// waitFor polls ok every 5 ms and returns how long it took (a minute at
// most).
func waitFor(ctx context.Context, ok func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < time.Minute && ctx.Err() == nil {
		if ok() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Minute
}

func checkState(cc *consul.Client, node, backup string) string {
	checks, _, err := cc.Health().Node(node, &consul.QueryOptions{Filter: fmt.Sprintf("CheckID == %q", health.CheckID(backup))})
	if err != nil || len(checks) != 1 {
		return ""
	}
	return checks[0].Status
}

// pageShows reports whether the backup's page shows it in cond.
func pageShows(url, backup, cond string) bool {
	resp, err := http.Get(url + "/backups/" + backup)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `<span class="state state-`+strings.ReplaceAll(cond, " ", "-")+`">`+cond+`</span></h1>`)
}

// renderTimes GETs / k times and returns the durations, sorted.
func renderTimes(url string, k int) ([]time.Duration, error) {
	var out []time.Duration
	for i := 0; i < k; i++ {
		start := time.Now()
		resp, err := http.Get(url + "/")
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET /: %d %v", resp.StatusCode, err)
		}
		out = append(out, time.Since(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
