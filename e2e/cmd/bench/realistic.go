package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Realistic state: what a platform's etcd and Consul hold, rather than
// random bytes (the worst case, kept in the other rows). Kubernetes
// objects are written as JSON, the encoding of custom resources; built-in
// types in protobuf compress somewhat less. Secrets carry random bytes in
// base64, as real ones do, so part of the data never compresses.

var (
	namespaces = []string{"default", "kube-system", "payments", "checkout", "search", "identity", "observability", "ingress",
		"billing", "catalog", "notifications", "data-pipeline", "ml-serving", "platform", "security", "edge"}
	apps = []string{"api", "web", "worker", "scheduler", "gateway", "cache", "indexer", "auth", "ledger", "mailer",
		"exporter", "collector", "router", "frontend", "backend", "cron", "migrator", "sidecar", "broker", "store"}
	images = []string{"registry.example.com/platform/%s:v1.%d.%d", "ghcr.io/acme/%s:2.%d.%d", "docker.io/library/%s:1.%d.%d-alpine"}
)

// k8sGen makes Kubernetes-style objects: pods, deployments, config maps,
// secrets and events, with labels, annotations, managed fields and the
// last-applied configuration kubectl keeps.
type k8sGen struct {
	rng *rand.Rand
	n   int
}

func (g *k8sGen) pick(s []string) string { return s[g.rng.Intn(len(s))] }

func (g *k8sGen) uid() string {
	b := make([]byte, 16)
	g.rng.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (g *k8sGen) stamp() string {
	return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.rng.Intn(30*24*3600)) * time.Second).Format(time.RFC3339)
}

// next returns one object's etcd key and value.
func (g *k8sGen) next() (string, []byte) {
	g.n++
	ns, app := g.pick(namespaces), g.pick(apps)
	name := fmt.Sprintf("%s-%s-%05d", app, g.uid()[:8], g.n)
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns,
		"app.kubernetes.io/managed-by": "Helm", "team": ns + "-team", "tier": []string{"frontend", "backend", "data"}[g.n%3]}
	meta := map[string]any{"name": name, "namespace": ns, "uid": g.uid(), "resourceVersion": fmt.Sprint(100000 + g.n),
		"creationTimestamp": g.stamp(), "labels": labels,
		"managedFields": []any{map[string]any{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
			"time": g.stamp(), "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:app.kubernetes.io/name": map[string]any{}}}}}}}
	var kind, resource string
	var body map[string]any
	switch r := g.rng.Intn(100); {
	case r < 55:
		kind, resource = "Pod", "pods"
		body = map[string]any{"spec": g.podSpec(app), "status": map[string]any{"phase": "Running", "podIP": fmt.Sprintf("10.%d.%d.%d", g.rng.Intn(256), g.rng.Intn(256), g.rng.Intn(256)),
			"hostIP": fmt.Sprintf("192.168.%d.%d", g.rng.Intn(256), g.rng.Intn(256)), "startTime": g.stamp(), "qosClass": "Burstable",
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": g.stamp()}, map[string]any{"type": "ContainersReady", "status": "True", "lastTransitionTime": g.stamp()}}}}
	case r < 70:
		kind, resource = "Deployment", "deployments"
		spec := map[string]any{"replicas": 1 + g.rng.Intn(6), "selector": map[string]any{"matchLabels": map[string]string{"app.kubernetes.io/name": app}},
			"template": map[string]any{"metadata": map[string]any{"labels": labels}, "spec": g.podSpec(app)}}
		last, _ := json.Marshal(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec})
		meta["annotations"] = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(last), "deployment.kubernetes.io/revision": fmt.Sprint(1 + g.rng.Intn(40))}
		body = map[string]any{"spec": spec}
	case r < 82:
		kind, resource = "ConfigMap", "configmaps"
		var cfg strings.Builder
		for i := 0; i < 10+g.rng.Intn(60); i++ {
			fmt.Fprintf(&cfg, "%s.%s.%s = %d\n", app, g.pick(apps), []string{"timeout", "retries", "pool_size", "enabled", "port"}[i%5], g.rng.Intn(5000))
		}
		body = map[string]any{"data": map[string]string{"app.properties": cfg.String(), "LOG_LEVEL": "info", "REGION": "eu-west-1"}}
	case r < 90:
		kind, resource = "Secret", "secrets"
		blob := make([]byte, 256+g.rng.Intn(2048))
		g.rng.Read(blob)
		body = map[string]any{"type": "Opaque", "data": map[string]string{"tls.crt": base64.StdEncoding.EncodeToString(blob), "password": base64.StdEncoding.EncodeToString(blob[:24])}}
	default:
		kind, resource = "Event", "events"
		body = map[string]any{"reason": []string{"Scheduled", "Pulled", "Created", "Started", "BackOff"}[g.n%5], "type": "Normal", "count": 1 + g.rng.Intn(20),
			"message": fmt.Sprintf("Successfully assigned %s/%s to node-%02d", ns, name, g.rng.Intn(40)), "firstTimestamp": g.stamp(), "lastTimestamp": g.stamp(),
			"involvedObject": map[string]any{"kind": "Pod", "namespace": ns, "name": name, "uid": g.uid()}, "source": map[string]any{"component": "kubelet"}}
	}
	body["apiVersion"], body["kind"], body["metadata"] = "v1", kind, meta
	v, _ := json.Marshal(body)
	return fmt.Sprintf("/registry/%s/%s/%s", resource, ns, name), v
}

func (g *k8sGen) podSpec(app string) map[string]any {
	var containers []any
	for i := 0; i < 1+g.rng.Intn(3); i++ {
		var env []any
		for j := 0; j < 3+g.rng.Intn(12); j++ {
			env = append(env, map[string]any{"name": fmt.Sprintf("%s_SETTING_%d", strings.ToUpper(app), j), "value": fmt.Sprint(g.rng.Intn(100000))})
		}
		containers = append(containers, map[string]any{"name": fmt.Sprintf("%s-%d", app, i), "image": fmt.Sprintf(g.pick(images), app, g.rng.Intn(30), g.rng.Intn(10)),
			"ports": []any{map[string]any{"containerPort": 8080 + i, "protocol": "TCP"}}, "env": env,
			"resources":       map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]string{"cpu": "1", "memory": "512Mi"}},
			"readinessProbe":  map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 8080 + i}, "periodSeconds": 10},
			"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"})
	}
	return map[string]any{"containers": containers, "restartPolicy": "Always", "serviceAccountName": app, "nodeName": fmt.Sprintf("node-%02d", g.rng.Intn(40)),
		"tolerations": []any{map[string]any{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}}}
}

// fillKubernetes writes about mib MiB of Kubernetes-style objects, in
// transactions of about 1 MiB from four writers.
func fillKubernetes(ctx context.Context, c *clientv3.Client, mib int) error {
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func(w int) {
			g := &k8sGen{rng: rand.New(rand.NewSource(int64(w + 1))), n: w * 10_000_000}
			written := 0
			for written < mib<<20/4 {
				var ops []clientv3.Op
				batch := 0
				// etcd takes at most 128 operations in a transaction.
				for batch < 1<<20 && len(ops) < 128 {
					k, v := g.next()
					ops = append(ops, clientv3.OpPut(k, string(v)))
					batch += len(k) + len(v)
				}
				if _, err := c.Txn(ctx).Then(ops...).Commit(); err != nil {
					errs <- err
					return
				}
				written += batch
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 4; w++ {
		if err := <-errs; err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	return nil
}

// consulConfigKV makes n keys of service configuration and feature
// flags: JSON documents with repeated shapes and names.
func consulConfigKV(n int) []*consul.KVPair {
	rng := rand.New(rand.NewSource(7))
	envs := []string{"prod", "staging", "dev"}
	out := make([]*consul.KVPair, 0, n)
	for i := 0; i < n; i++ {
		svc, env := apps[i%len(apps)]+"-"+namespaces[(i/len(apps))%len(namespaces)], envs[i%3]
		var key string
		var v any
		switch i % 4 {
		case 0:
			key = fmt.Sprintf("features/%s/%s/flag-%05d", env, svc, i)
			v = map[string]any{"enabled": rng.Intn(2) == 1, "rollout_percent": rng.Intn(101), "owner": svc + "-team",
				"segments": []string{"beta-users", "internal", "region-eu"}[:1+rng.Intn(3)], "updated_at": time.Date(2026, 11, 1+rng.Intn(28), 0, 0, 0, 0, time.UTC).Format(time.RFC3339)}
		default:
			key = fmt.Sprintf("config/%s/%s/%s-%05d", svc, env, []string{"database", "http", "cache"}[i%3], i)
			v = map[string]any{"host": fmt.Sprintf("%s.%s.service.consul", svc, env), "port": 5432 + rng.Intn(100), "pool": map[string]int{"min": 2, "max": 10 + rng.Intn(90)},
				"timeouts": map[string]string{"connect": "5s", "read": fmt.Sprintf("%ds", 10+rng.Intn(50)), "idle": "90s"},
				"tls":      map[string]any{"enabled": true, "ca_file": "/etc/ssl/certs/ca.pem", "verify": true}, "tags": []string{svc, env, "managed-by-terraform"}}
		}
		b, _ := json.Marshal(v)
		out = append(out, &consul.KVPair{Key: key, Value: b})
	}
	return out
}

// stored is the size of the newest object under prefix that is not a
// manifest or record.
func (b *bench) stored(prefix string) int64 {
	objs, err := b.minio.List(context.Background(), prefix)
	if err != nil {
		return 0
	}
	latest, size := "", int64(0)
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ".manifest.json") && !strings.Contains(o.Key, "/runs/") && o.Key > latest {
			latest, size = o.Key, o.Size
		}
	}
	return size
}

// compressionRows prints vigil uncompressed (c) and with zstd (z) against
// the raw upload of the uncompressed bytes, the ratio zstd reached, and
// the goal: on data like this, zstd makes vigil faster than the raw
// upload.
func (b *bench) compressionRows(scenario string, size int, res map[string]series, raw int64, zstdPrefix string) {
	b.addRow(scenario, size, res)
	b.variantRow("  same, vigil with zstd", size, res, "z")
	stored := b.stored(zstdPrefix)
	ratio := "-"
	if stored > 0 {
		ratio = fmt.Sprintf("%.1f:1 (%s stored)", float64(raw)/float64(stored), mib(stored))
	}
	b.table.note("%s: zstd compression ratio %s", scenario, ratio)
	b.table.atMost(scenario+", zstd c/a < 1.0", roundRatios(res["z"], res["a"]), 0.9999)
	b.table.rssAtMost(scenario+", zstd peak RSS <= 64 MiB", res["z"], 64<<20)
}

// etcdRealistic: an etcd of Kubernetes-style objects, backed up
// uncompressed and with zstd, against the raw upload of its db file.
func (b *bench) etcdRealistic(ctx context.Context, size int) error {
	name := fmt.Sprintf("etcd-k8s-%d", size)
	e, file, save, err := b.filledEtcd(ctx, name, fmt.Sprintf("etcd %d MiB of Kubernetes-style objects", size), func(e *harness.Etcd) error {
		c, err := e.Client()
		if err != nil {
			return err
		}
		defer c.Close()
		return fillKubernetes(ctx, c, size)
	})
	if err != nil {
		return err
	}
	defer e.Stop()
	zstdBackup := etcdBackup("k8s-zstd", "zstd", e.Endpoint, "")
	spec, err := b.spec(name, etcdBackup("k8s-plain", "none", e.Endpoint, "")+zstdBackup)
	if err != nil {
		return err
	}
	st, _ := os.Stat(file)
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	res, err := compare(append(b.baselines(file, name, save), b.sourceAlone(b.env(), "etcd", e.Endpoint), variant{"c", vigil("k8s-plain")}, variant{"z", vigil("k8s-zstd")}))
	if err != nil {
		return err
	}
	scenario := fmt.Sprintf("etcd, Kubernetes-style objects (db %s)", mib(st.Size()))
	b.limitRow(scenario, res, "c")
	b.compressionRows(scenario, size, res, st.Size(), "k8s-zstd/")
	return b.compressionOverALink(scenario, size, file, zstdBackup, "k8s-zstd")
}

// compressionOverALink repeats the zstd comparison with the uploads going
// through a link that gives each connection linkRate/2 bytes a second (a
// gigabit link shared by the upload's two connections): where the bytes
// on the wire, not the source, bound a backup, and compression pays.
func (b *bench) compressionOverALink(scenario string, size int, file, backup, name string) error {
	rate := int64(linkRate / 2)
	fmt.Printf("== %s over a link of %d MiB/s per connection\n", scenario, rate>>20)
	proxy, err := harness.StartTCPProxy(b.minio.Addr)
	if err != nil {
		return err
	}
	defer proxy.Close()
	proxy.ThrottleRequests(rate)
	endpoint := "http://" + proxy.Addr
	dir, err := b.specAt("link-"+name, endpoint, "", backup)
	if err != nil {
		return err
	}
	res, err := compare([]variant{
		{"a", func() (sample, error) {
			return measure(b.env(), self(), "-child-upload", endpoint, file, "bench/raw-link-"+name)
		}},
		{"z", func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", dir, "-backup", name) }},
	})
	if err != nil {
		return err
	}
	label := fmt.Sprintf("  same over a %d MiB/s-per-connection link, vigil with zstd", rate>>20)
	b.variantRow(label, size, res, "z")
	b.table.atMost(scenario+" over the link, zstd c/a < 1.0", roundRatios(res["z"], res["a"]), 0.9999)
	return nil
}

// consulKVRealistic: service configuration and feature flags in Consul's
// KV, exported uncompressed and with zstd, against the raw upload of
// `consul kv export`'s output.
func (b *bench) consulKVRealistic(ctx context.Context) error {
	fmt.Printf("== consul_kv %d keys of service config and feature flags: filling\n", *kvKeys)
	c, cc, err := b.startConsul(ctx, "consul-kv-real")
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := putKV(cc, consulConfigKV(*kvKeys)); err != nil {
		return err
	}
	spec, err := b.spec("consul-kv-real", consulBackup("consul_kv", "kv-plain", c.URL())+
		strings.Replace(consulBackup("consul_kv", "kv-zstd", c.URL()), `compression = "none"`, `compression = "zstd"`, 1))
	if err != nil {
		return err
	}
	file := filepath.Join(b.dir, "consul-kv-real.json")
	export := b.kvExport(c, file)
	if _, err := export(); err != nil {
		return err
	}
	st, _ := os.Stat(file)
	vigil := func(backup string) func() (sample, error) {
		return func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", backup) }
	}
	res, err := compare(append(b.baselines(file, "kv-real.json", export), b.sourceAlone(b.env(), "consul_kv", c.Addr), variant{"c", vigil("kv-plain")}, variant{"z", vigil("kv-zstd")}))
	if err != nil {
		return err
	}
	scenario := fmt.Sprintf("consul_kv, service config and flags (%dk keys, %s)", *kvKeys/1000, mib(st.Size()))
	b.limitRow(scenario, res, "c")
	b.compressionRows(scenario, 0, res, st.Size(), "kv-zstd/")
	return nil
}
