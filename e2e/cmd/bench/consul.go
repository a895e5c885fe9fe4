package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/e2e/harness"
)

func (b *bench) startConsul(ctx context.Context, name string) (*harness.Consul, *consul.Client, error) {
	c, err := harness.StartConsul(ctx, b.dir, name, nil)
	if err != nil {
		return nil, nil, err
	}
	cc, err := c.Client()
	return c, cc, err
}

// consulSnapshot: vigil's consul_snapshot against `consul snapshot save`
// plus upload, over a Consul holding consul-mib MiB of KV data.
func (b *bench) consulSnapshot(ctx context.Context) error {
	fmt.Printf("== consul_snapshot %d MiB: filling\n", *snapMiB)
	c, cc, err := b.startConsul(ctx, "consul-snap")
	if err != nil {
		return err
	}
	defer c.Stop()
	rng := rand.New(rand.NewSource(1))
	val := make([]byte, 512<<10)
	for i := 0; i < *snapMiB*2; i++ {
		rng.Read(val)
		if _, err := cc.KV().Put(&consul.KVPair{Key: fmt.Sprintf("bench/%05d", i), Value: val}, nil); err != nil {
			return err
		}
	}
	spec, err := b.spec("consul-snap", consulBackup("consul_snapshot", "snap", c.URL()))
	if err != nil {
		return err
	}
	bin, _ := harness.Tool("consul")
	file := filepath.Join(b.dir, "consul.snap")
	env := append(b.env(), "CONSUL_HTTP_ADDR="+c.Addr)
	save := func() (sample, error) { return measure(env, bin, "snapshot", "save", file) }
	if _, err := save(); err != nil {
		return err
	}
	st, _ := os.Stat(file)
	res, err := compare(append(b.baselines(file, "consul.snap", save), b.sourceAlone(env, "consul", c.Addr), variant{"c", func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", "snap") }}))
	if err != nil {
		return err
	}
	row := fmt.Sprintf("consul_snapshot (%s)", mib(st.Size()))
	b.addRow(row, *snapMiB, res)
	b.limitRow(row, res, "c")
	ready := settle(func() error { _, _, err := cc.KV().Get("bench/00000", nil); return err })
	restore := toolRestore{env: env, bin: bin, cleanup: ready, args: func(f string) []string { return []string{"snapshot", "restore", f} }}
	return b.restoreAgainstTwoStep(row, *snapMiB, spec, "snap", b.env(), []string{"-auto-approve", "-to", c.URL()}, restore, 0.8)
}

// putKV writes the pairs in transactions of 64.
func putKV(cc *consul.Client, pairs []*consul.KVPair) error {
	var ops consul.TxnOps
	for i, p := range pairs {
		ops = append(ops, &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVSet, Key: p.Key, Value: p.Value}})
		if len(ops) == 64 || i == len(pairs)-1 {
			if ok, _, _, err := cc.Txn().Txn(ops, nil); err != nil || !ok {
				return fmt.Errorf("fill: %v", err)
			}
			ops = ops[:0]
		}
	}
	return nil
}

// consulKV: vigil's consul_kv against `consul kv export > FILE` plus
// upload, over kv-keys keys.
func (b *bench) consulKV(ctx context.Context) error {
	fmt.Printf("== consul_kv %d keys: filling\n", *kvKeys)
	c, cc, err := b.startConsul(ctx, "consul-kv")
	if err != nil {
		return err
	}
	defer c.Stop()
	start := time.Now()
	pairs := make([]*consul.KVPair, *kvKeys)
	for i := range pairs {
		pairs[i] = &consul.KVPair{Key: fmt.Sprintf("app/%03d/key-%06d", i%500, i), Value: []byte(strings.Repeat("v", 64))}
	}
	if err := putKV(cc, pairs); err != nil {
		return err
	}
	fmt.Printf("   filled in %.1fs\n", time.Since(start).Seconds())
	spec, err := b.spec("consul-kv", consulBackup("consul_kv", "kv", c.URL()))
	if err != nil {
		return err
	}
	file := filepath.Join(b.dir, "consul-kv.json")
	export := b.kvExport(c, file)
	if _, err := export(); err != nil {
		return err
	}
	res, err := compare(append(b.baselines(file, "kv.json", export), b.sourceAlone(b.env(), "consul_kv", c.Addr), variant{"c", func() (sample, error) { return measure(b.env(), b.vigil, "run", "-config", spec, "-backup", "kv") }}))
	if err != nil {
		return err
	}
	st, _ := os.Stat(file)
	row := fmt.Sprintf("consul_kv (%dk keys, %s)", *kvKeys/1000, mib(st.Size()))
	b.addRow(row, 0, res)
	b.limitRow(row, res, "c")
	return nil
}

// kvExport is `consul kv export > file`, measured.
func (b *bench) kvExport(c *harness.Consul, file string) func() (sample, error) {
	bin, _ := harness.Tool("consul")
	return saveStdout(append(b.env(), "CONSUL_HTTP_ADDR="+c.Addr), file, bin, "kv", "export")
}

// consulBackup is the spec of a bench backup of the Consul at url, stored
// uncompressed so that every variant moves the same bytes.
func consulBackup(typ, name, url string) string {
	return fmt.Sprintf(`
backup %q %q {
  schedule    = "0 * * * *"
  storage     = storage.s3.minio
  compression = "none"
  consul { address = %q }
  retain { last = 1 }
}
`, typ, name, url)
}
