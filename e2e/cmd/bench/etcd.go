package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/store"
)

// env is what vigil and the helpers run with: MinIO's keys through the
// standard AWS chain (credentials { environment = true }).
func (b *bench) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") || strings.HasPrefix(kv, "AWS_SESSION_TOKEN=") || strings.HasPrefix(kv, "AWS_PROFILE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_ACCESS_KEY_ID="+harness.MinIORootUser, "AWS_SECRET_ACCESS_KEY="+harness.MinIORootPassword, "AWS_REGION=us-east-1")
}

// spec writes a standalone spec (no control Consul) with the backups.
func (b *bench) spec(name, backups string) (string, error) {
	return b.specAt(name, b.minio.Endpoint(), "", backups)
}

// specWith is spec with more settings in the storage block.
func (b *bench) specWith(name, storageExtra, backups string) (string, error) {
	return b.specAt(name, b.minio.Endpoint(), storageExtra, backups)
}

// specAt is specWith with the S3 endpoint given (a proxy in front of MinIO).
func (b *bench) specAt(name, endpoint, storageExtra, backups string) (string, error) {
	dir := filepath.Join(b.dir, "spec-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := fmt.Sprintf(`
consul {
  enabled = false
}

storage "s3" "minio" {
  bucket     = %q
  endpoint   = %q
  path_style = true
  credentials {
    environment = true
  }
%s
}
`, harness.Bucket, endpoint, storageExtra) + backups
	return dir, os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644)
}

// etcdBackup is the spec of a bench backup of an etcd; extra goes in its
// block.
func etcdBackup(name, compression, endpoint, extra string) string {
	return fmt.Sprintf(`
backup "etcd" %q {
  schedule    = "0 * * * *"
  storage     = storage.s3.minio
  compression = %q
  etcd { endpoints = [%q] }
  retain { last = 1 }
%s
}
`, name, compression, endpoint, extra)
}

// filledEtcd starts an etcd, fills it, and saves its snapshot to a file
// (what the raw upload sends); save saves it again (the two-step's first
// step).
func (b *bench) filledEtcd(ctx context.Context, name, what string, fill func(*harness.Etcd) error) (e *harness.Etcd, file string, save func() (sample, error), err error) {
	fmt.Printf("== %s: filling\n", what)
	start := time.Now()
	if e, err = harness.StartEtcd(ctx, b.dir, name, 16<<30, nil); err != nil {
		return nil, "", nil, err
	}
	if err = fill(e); err != nil {
		e.Stop()
		return nil, "", nil, err
	}
	fmt.Printf("   filled in %.1fs\n", time.Since(start).Seconds())
	etcdctl, err := harness.Tool("etcdctl")
	if err != nil {
		e.Stop()
		return nil, "", nil, err
	}
	file = filepath.Join(b.dir, name+".db")
	save = func() (sample, error) {
		os.Remove(file)
		return measure(b.env(), etcdctl, "--endpoints", e.Endpoint, "snapshot", "save", file)
	}
	if _, err = save(); err != nil {
		e.Stop()
		return nil, "", nil, err
	}
	return e, file, save, nil
}

// variant is one way of getting the same data into S3.
type variant struct {
	name string
	run  func() (sample, error)
}

// compare runs the variants in rotating order, *runs times (up to twice as
// many when a variant's spread exceeds 25%), and returns their series.
func compare(vs []variant) (map[string]series, error) {
	out := map[string]series{}
	for round := 0; round < 2**runs; round++ {
		if round >= *runs {
			wide := false
			for _, s := range out {
				wide = wide || s.spread() > 0.25
			}
			if !wide {
				break
			}
		}
		for i := range vs {
			v := vs[(round+i)%len(vs)]
			s, err := v.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			out[v.name] = append(out[v.name], s)
		}
	}
	return out, nil
}

// twoStep sums a save and an upload, keeping the larger process's RSS.
func twoStep(save func() (sample, error), upload func() (sample, error)) (sample, error) {
	s1, err := save()
	if err != nil {
		return s1, err
	}
	s2, err := upload()
	return sample{d: s1.d + s2.d, peakRSS: max(s1.peakRSS, s2.peakRSS), written: s1.written + s2.written}, err
}

// baselines are what every backup row measures vigil against: the raw
// upload of the saved file (a: the limit of the link), and save then
// upload (b: the two-step way other tools work). Objects are keyed
// bench/raw-NAME and bench/two-step-NAME.
func (b *bench) baselines(file, name string, save func() (sample, error)) []variant {
	return []variant{
		{"a", func() (sample, error) { return b.upload(file, "bench/raw-"+name) }},
		{"b", func() (sample, error) {
			return twoStep(save, func() (sample, error) { return b.upload(file, "bench/two-step-"+name) })
		}},
	}
}

// saveStdout is a save step that runs a program with its stdout to file
// (consul kv export, pg_dump), measured.
func saveStdout(env []string, file, name string, args ...string) func() (sample, error) {
	return func() (sample, error) {
		f, err := os.Create(file)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Stdout = env, f
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return sample{}, err
		}
		peak, err := harness.PeakRSS(cmd)
		st, _ := f.Stat()
		return sample{d: time.Since(start), peakRSS: peak, written: st.Size()}, err
	}
}

func (b *bench) upload(file, key string) (sample, error) {
	return measure(b.env(), self(), "-child-upload", b.minio.Endpoint(), file, key)
}

func (b *bench) etcd(ctx context.Context, size int) error {
	name := fmt.Sprintf("etcd-%d", size)
	e, file, save, err := b.filledEtcd(ctx, name, fmt.Sprintf("etcd %d MiB", size), func(e *harness.Etcd) error { return e.Fill(ctx, size) })
	if err != nil {
		return err
	}
	defer e.Stop()
	spec, err := b.spec(name, etcdBackup("plain", "none", e.Endpoint, "")+etcdBackup("zstd", "zstd", e.Endpoint, "")+
		fmt.Sprintf("\nvault {\n  address = %q\n}\n", b.vault.URL())+
		etcdBackup("encrypted", "none", e.Endpoint, "  encryption {\n    vault_transit { key = \"bench\" }\n  }"))
	if err != nil {
		return err
	}
	st, _ := os.Stat(file)
	env := append(b.env(), "VAULT_TOKEN="+b.vault.RootToken)
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(env, b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	res, err := compare(append(b.baselines(file, name, save), b.sourceAlone(env, "etcd", e.Endpoint), variant{"c", vigil("plain")}, variant{"z", vigil("zstd")}, variant{"e", vigil("encrypted")}))
	if err != nil {
		return err
	}
	row := fmt.Sprintf("etcd (db %s)", mib(st.Size()))
	b.addRow(row, size, res)
	b.limitRow(row, res, "c")
	b.variantRow("  same, vigil with zstd", size, res, "z")
	b.variantRow("  same, vigil encrypted (Transit data key, streaming AEAD)", size, res, "e")
	ce, _ := res["e"].medianCPU()
	cc, _ := res["c"].medianCPU()
	b.table.note("etcd %d MiB: encryption takes %s of vigil's plain wall time (%s vs %s; vigil's CPU %s vs %s), peak RSS %s vs %s", size,
		roundRatios(res["e"], res["c"]), secs(res["e"].median()), secs(res["c"].median()), secs(ce), secs(cc), mib(res["e"].maxRSS()), mib(res["c"].maxRSS()))
	if size >= 1024 {
		b.table.atMost(fmt.Sprintf("etcd %d MiB random, encrypted/plain <= 1.05", size), roundRatios(res["e"], res["c"]), 1.05)
		b.table.atMost(fmt.Sprintf("etcd %d MiB random, c/b <= 0.75", size), roundRatios(res["c"], res["b"]), 0.75)
		b.table.atMost(fmt.Sprintf("etcd %d MiB random, c/a <= 1.6", size), roundRatios(res["c"], res["a"]), 1.6)
		b.table.rssAtMost(fmt.Sprintf("etcd %d MiB random, vigil peak RSS <= 64 MiB", size), res["c"], 64<<20)
	}
	if want("restore") && size >= 1024 {
		return b.restore(name, size)
	}
	return nil
}

func (b *bench) addRow(scenario string, size int, res map[string]series) {
	b.variantRow(scenario, size, res, "c")
	b.table.note("%s: two-step's largest process peaked at %s; runs per variant: %d", scenario, mib(res["b"].maxRSS()), len(res["c"]))
}

// variantRow prints variant v against the raw upload (a) and, where the
// scenario has one, the two-step pipeline (b).
func (b *bench) variantRow(scenario string, size int, res map[string]series, v string) {
	a, bb, c := res["a"].median(), res["b"].median(), res[v].median()
	sizeCell, aCell, bCell, cb := "", "", "", "-"
	if size > 0 {
		sizeCell = fmt.Sprint(size)
	}
	if v == "c" || len(res["c"]) == 0 { // a row of its own shows its own a
		aCell = secs(a)
		if len(res["b"]) > 0 {
			bCell = secs(bb)
		}
	}
	if len(res["b"]) > 0 {
		cb = roundRatios(res[v], res["b"]).String()
	}
	runs := fmt.Sprintf("a %s, %s %s", res["a"].minMax(), v, res[v].minMax())
	if v == "c" && len(res["b"]) > 0 {
		runs = fmt.Sprintf("a %s, b %s, c %s", res["a"].minMax(), res["b"].minMax(), res["c"].minMax())
	}
	b.table.add(scenario, sizeCell, aCell, bCell, secs(c), roundRatios(res[v], res["a"]).String(), cb,
		mib(res[v].maxRSS()), mib(res[v].maxWritten()), runs)
}

// restore compares `vigil restore` of the plain etcd backup (download,
// sha256 check, db file) with a raw single-stream download of the same
// object, and with vigil reading the object in one stream as before
// (download_concurrency = 1). The CPU figures show what bounds it: vigil,
// MinIO and the download share the machine's cores.
func (b *bench) restore(name string, size int) error {
	fmt.Printf("== restore %s\n", name)
	key, err := b.latestObject("plain/")
	if err != nil {
		return err
	}
	backup := etcdBackup("plain", "none", "http://127.0.0.1:1", "")
	parallel, err := b.spec("restore-parallel", backup)
	if err != nil {
		return err
	}
	single, err := b.specWith("restore-single", "  download_concurrency = 1", backup)
	if err != nil {
		return err
	}
	out := filepath.Join(b.dir, "restored.db")
	pid := b.minio.Proc.Pid()
	restore := func(spec string) func() (sample, error) {
		return func() (sample, error) {
			defer os.Remove(out)
			return withServerCPU(pid, func() (sample, error) {
				return measure(b.env(), b.vigil, "restore", "-config", spec, "-backup", "plain", "-out", out)
			})
		}
	}
	res, err := compare([]variant{
		{"a", func() (sample, error) {
			defer os.Remove(out)
			return withServerCPU(pid, func() (sample, error) {
				return measure(b.env(), self(), "-child-download", b.minio.Endpoint(), key, out)
			})
		}},
		{"c", restore(parallel)},
		{"s", restore(single)},
	})
	if err != nil {
		return err
	}
	a, c, sgl := res["a"].median(), res["c"].median(), res["s"].median()
	b.table.add(fmt.Sprintf("restore etcd, %d range requests (raw download as a)", store.DefaultDownloadConcurrency()), fmt.Sprint(size), secs(a), "", secs(c),
		roundRatios(res["c"], res["a"]).String(), "", mib(res["c"].maxRSS()), "(writes the db)", fmt.Sprintf("a %s, c %s", res["a"].minMax(), res["c"].minMax()))
	b.table.add("  same, one stream (download_concurrency = 1)", fmt.Sprint(size), "", "", secs(sgl),
		roundRatios(res["s"], res["a"]).String(), "", mib(res["s"].maxRSS()), "(writes the db)", "s "+res["s"].minMax())
	speed := roundRatios(res["a"], res["c"])
	b.table.note("restore speed vs raw download: %s× with range requests, %s× in one stream", speed, roundRatios(res["a"], res["s"]))
	for _, v := range []struct{ name, key string }{{"raw download", "a"}, {"vigil restore", "c"}, {"vigil, one stream", "s"}} {
		cpu, srv := res[v.key].medianCPU()
		b.table.note("  %s: %s wall, %s CPU in the process, %s in MinIO (2 cores: %s of CPU available)", v.name,
			secs(res[v.key].median()), secs(cpu), secs(srv), secs(2*res[v.key].median()))
	}
	if err := b.restoreOverALink(key, backup, size); err != nil {
		return err
	}
	etcdutl, err := harness.Tool("etcdutl")
	if err != nil {
		return err
	}
	dataDir := filepath.Join(b.dir, "restored.etcd")
	tool := toolRestore{env: b.env(), bin: etcdutl, cleanup: func() { os.RemoveAll(dataDir); os.Remove(out) },
		args: func(f string) []string { return []string{"snapshot", "restore", f, "--data-dir", dataDir} }}
	// etcdutl needs a whole file: vigil saves the separate checksum pass.
	if err := b.restoreAgainstTwoStep(fmt.Sprintf("etcd %d MiB", size), size, parallel, "plain", b.env(),
		[]string{"-out", out, "-data-dir", dataDir, "-etcdutl", etcdutl}, tool, 1.0); err != nil {
		return err
	}
	b.table.atLeast(fmt.Sprintf("restore etcd %d MiB, speed >= 1.0x raw download", size), speed, 1.0)
	b.table.atLeast(fmt.Sprintf("restore etcd %d MiB, speed >= 1.2x raw download (stretch)", size), speed, 1.2)
	b.table.rssAtMost(fmt.Sprintf("restore etcd %d MiB, peak RSS <= 64 MiB", size), res["c"], 64<<20)
	return nil
}

// linkRate is the per-connection rate of the link restoreOverALink
// models: S3 serves one connection at about this order (AWS's guidance is
// parallel range GETs for more), and a WAN link behaves alike.
const linkRate = 128 << 20

// restoreOverALink repeats the restore comparison through a proxy that
// gives each connection linkRate bytes a second: the case range requests
// are for, which loopback on two cores cannot show.
func (b *bench) restoreOverALink(key, backup string, size int) error {
	fmt.Printf("== restore over a link of %d MiB/s per connection\n", linkRate>>20)
	proxy, err := harness.StartTCPProxy(b.minio.Addr)
	if err != nil {
		return err
	}
	defer proxy.Close()
	proxy.Throttle(linkRate)
	endpoint := "http://" + proxy.Addr
	parallel, err := b.specAt("link-parallel", endpoint, "", backup)
	if err != nil {
		return err
	}
	single, err := b.specAt("link-single", endpoint, "  download_concurrency = 1", backup)
	if err != nil {
		return err
	}
	out := filepath.Join(b.dir, "restored.db")
	restore := func(spec string) func() (sample, error) {
		return func() (sample, error) {
			defer os.Remove(out)
			return measure(b.env(), b.vigil, "restore", "-config", spec, "-backup", "plain", "-out", out)
		}
	}
	res, err := compare([]variant{
		{"a", func() (sample, error) {
			defer os.Remove(out)
			return measure(b.env(), self(), "-child-download", endpoint, key, out)
		}},
		{"c", restore(parallel)},
		{"s", restore(single)},
	})
	if err != nil {
		return err
	}
	b.table.add(fmt.Sprintf("  over a %d MiB/s-per-connection link, %d range requests", linkRate>>20, store.DefaultDownloadConcurrency()), fmt.Sprint(size),
		secs(res["a"].median()), "", secs(res["c"].median()), roundRatios(res["c"], res["a"]).String(), "", mib(res["c"].maxRSS()), "(writes the db)",
		fmt.Sprintf("a %s, c %s, one stream %s", res["a"].minMax(), res["c"].minMax(), res["s"].minMax()))
	b.table.note("restore over the link: %s× the raw download's speed with range requests, %s× in one stream",
		roundRatios(res["a"], res["c"]), roundRatios(res["a"], res["s"]))
	return nil
}

func (b *bench) latestObject(prefix string) (string, error) {
	objs, err := b.minio.List(context.Background(), prefix)
	if err != nil {
		return "", err
	}
	latest := ""
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".db") && o.Key > latest {
			latest = o.Key
		}
	}
	if latest == "" {
		return "", fmt.Errorf("no object under %s", prefix)
	}
	return latest, nil
}
