// Command bench measures vigil's streaming backup against the physical
// limit (a raw upload of a file of the same size) and against the two-step
// pipeline every other tool uses (save the snapshot to a file, then upload
// it), on the harness's real etcd, Consul, Nomad, Vault and MinIO. It prints a table of
// medians, the ratios, vigil's peak RSS and the bytes it wrote to disk.
//
// usage: go run ./e2e/cmd/bench [-sizes 256,1024] [-runs 3]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
)

var (
	sizes       = flag.String("sizes", "256,1024", "etcd database sizes in MiB")
	fanoutMiB   = flag.Int("fanout-mib", 1024, "the etcd database size of the fanout rows, in MiB")
	cloudMiB    = flag.Int("cloud-mib", 256, "the etcd database size of the GCS-only and Azure-only rows, in MiB")
	runs        = flag.Int("runs", 3, "runs of each variant (more are added when the spread is wide)")
	kvKeys      = flag.Int("kv-keys", 100000, "keys in the consul_kv benchmark")
	snapMiB     = flag.Int("consul-mib", 256, "MiB of KV data in the consul_snapshot benchmark")
	nomadMiB    = flag.Int("nomad-mib", 32, "MiB of variables in the nomad_snapshot benchmark")
	vaultMiB    = flag.Int("vault-mib", 32, "MiB of KV secrets in the vault_raft benchmark")
	pgMiB       = flag.Int("pg-mib", 1024, "MiB of rows in the PostgreSQL command-backup benchmark")
	realMiB     = flag.Int("realistic-mib", 512, "MiB of Kubernetes-style objects in the realistic etcd benchmark")
	specs       = flag.Int("compile-backups", 10000, "backups in the compile benchmark")
	planJobs    = flag.Int("plan-backups", 1000, "backups in the plan benchmark")
	fleetN      = flag.Int("fleet-backups", 1000, "backups in the fleet benchmark")
	fleetWindow = flag.Duration("fleet-window", time.Minute, "how long the fleet benchmark counts steady-state requests")
	vigilEnv    = flag.String("vigil-env", "", "comma list of NAME=VALUE added to vigil's own environment (GOMEMLIMIT=48MiB, GODEBUG=...), for experiments")
	only        = flag.String("only", "", "comma list of benchmarks to run: etcd,realistic,consul_snapshot,consul_kv,nomad_snapshot,vault_raft,postgres,fanout,cloud,restore,compile,plan,fleet")
)

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-child-") {
		os.Exit(child(os.Args[1:]))
	}
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func want(name string) bool {
	if *only == "" {
		return true
	}
	for _, n := range strings.Split(*only, ",") {
		if n == name {
			return true
		}
	}
	return false
}

type bench struct {
	dir   string
	vigil string
	minio *harness.MinIO
	// vault is a dev Vault with a Transit key "bench", for encrypted rows.
	vault *harness.Vault
	table *table
}

func run() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "vigil-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	vigil, err := filepath.Abs(filepath.Join(harness.RepoRoot(), "bin", "vigil"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(vigil); err != nil {
		return fmt.Errorf("%s missing; run `make build` (make bench does)", vigil)
	}
	m, err := harness.StartMinIO(ctx, dir, "", nil)
	if err != nil {
		return err
	}
	defer m.Stop()
	if err := m.UsePlainBucket(ctx); err != nil {
		return err
	}
	v, err := harness.StartVault(ctx, dir, nil)
	if err != nil {
		return err
	}
	defer v.Stop()
	root, _ := v.Root()
	if err := root.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		return err
	}
	if _, err := root.Logical().Write("transit/keys/bench", nil); err != nil {
		return err
	}
	b := &bench{dir: dir, vigil: vigil, minio: m, vault: v, table: &table{}}
	// What was measured before a failure is printed too.
	printed := false
	defer func() {
		if !printed {
			b.table.print(os.Stdout)
		}
	}()
	fmt.Printf("vigil bench, %s, %d CPUs; MinIO, etcd and Consul on 127.0.0.1 share them with vigil\n\n", time.Now().UTC().Format(time.RFC3339), numCPU())
	if want("etcd") || want("restore") {
		for _, s := range strings.Split(*sizes, ",") {
			mib, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("bad size %q", s)
			}
			if err := b.etcd(ctx, mib); err != nil {
				return err
			}
		}
	}
	if want("realistic") {
		if err := b.etcdRealistic(ctx, *realMiB); err != nil {
			return err
		}
		if err := b.consulKVRealistic(ctx); err != nil {
			return err
		}
	}
	if want("consul_snapshot") {
		if err := b.consulSnapshot(ctx); err != nil {
			return err
		}
	}
	if want("consul_kv") {
		if err := b.consulKV(ctx); err != nil {
			return err
		}
	}
	if want("nomad_snapshot") {
		if err := b.nomadSnapshot(ctx); err != nil {
			return err
		}
	}
	if want("vault_raft") {
		if err := b.vaultRaft(ctx); err != nil {
			return err
		}
	}
	if want("postgres") {
		if err := b.postgres(ctx); err != nil {
			return err
		}
	}
	if want("fanout") {
		if err := b.fanout(ctx, *fanoutMiB); err != nil {
			return err
		}
	}
	if want("cloud") {
		if err := b.cloud(ctx, *cloudMiB); err != nil {
			return err
		}
	}
	if want("compile") {
		if err := b.compile(); err != nil {
			return err
		}
	}
	if want("plan") {
		if err := b.plan(ctx); err != nil {
			return err
		}
	}
	if want("fleet") {
		if err := b.fleet(ctx); err != nil {
			return err
		}
	}
	printed = true
	b.table.print(os.Stdout)
	return nil
}
