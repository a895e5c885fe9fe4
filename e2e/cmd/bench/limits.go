package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The limits of a backup row, measured in the same rounds as the row:
//
//   - (s) the source alone: the server's snapshot read by the same client
//     library vigil uses, into io.Discard, nothing else running;
//   - limit = max(s, a) per round: the fastest any streaming tool could
//     finish, since it must both read the source and upload it;
//   - the CPU floor: the CPU seconds the whole machine spent during
//     vigil's run (vigil, the server, MinIO, a dump command) divided by
//     the cores. When the floor is close to vigil's wall time the row is
//     CPU-bound on this machine, not waiting.

// sourceAlone is the variant that reads the source into io.Discard in a
// child process: kind is etcd, consul, consul_kv, nomad or vault; addr the
// server's address (tokens come from the environment, as the CLIs read).
func (b *bench) sourceAlone(env []string, kind, addr string) variant {
	return variant{"s", func() (sample, error) { return measure(env, self(), "-child-source", kind, addr) }}
}

// readSource is the child's side of sourceAlone.
func readSource(ctx context.Context, kind, addr string) error {
	r, err := openSource(ctx, kind, addr)
	if err != nil || r == nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// openSource opens kind's snapshot stream; consul_kv and vault read
// theirs whole, and return no stream.
func openSource(ctx context.Context, kind, addr string) (io.ReadCloser, error) {
	switch kind {
	case "etcd":
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		return c.Snapshot(ctx) // the process exits after: the client is not closed
	case "consul", "consul_kv":
		cfg := consul.DefaultConfig()
		cfg.Address = addr
		c, err := consul.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		if kind == "consul_kv" {
			_, _, err = c.KV().List("", nil)
			return nil, err
		}
		r, _, err := c.Snapshot().Save(nil)
		return r, err
	case "nomad":
		cfg := nomad.DefaultConfig()
		cfg.Address = addr
		c, err := nomad.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		return c.Operator().Snapshot(nil)
	case "vault":
		cfg := vault.DefaultConfig()
		cfg.Address = addr
		c, err := vault.NewClient(cfg)
		if err != nil {
			return nil, err
		}
		return nil, c.Sys().RaftSnapshotWithContext(ctx, io.Discard)
	}
	return nil, fmt.Errorf("no source %q", kind)
}

// machineBusy is the CPU time all cores spent outside idle and I/O wait
// (/proc/stat), in the kernel's clock ticks of 10 ms.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// limitRatios is c over max(s, a), round by round.
func limitRatios(c, s, a series) ratios {
	var out ratios
	for i := 0; i < min(len(c), len(s), len(a)); i++ {
		if l := max(s[i].d, a[i].d); l > 0 {
			out = append(out, float64(c[i].d)/float64(l))
		}
	}
	return out
}

// floor is the median CPU floor of s's runs: the machine's busy time
// over the cores.
func (s series) floor() time.Duration {
	var f series
	for _, x := range s {
		f = append(f, sample{d: x.busy / time.Duration(numCPU())})
	}
	return f.median()
}

// limitRow adds scenario's line to the limits table and its goal:
// c/limit <= 1.10 in every round.
func (b *bench) limitRow(scenario string, res map[string]series, v string) {
	s, a, c := res["s"], res["a"], res[v]
	var lim series
	for i := 0; i < min(len(s), len(a)); i++ {
		lim = append(lim, sample{d: max(s[i].d, a[i].d)})
	}
	r := limitRatios(c, s, a)
	bound := "waits"
	if fl := c.floor(); c.median() > 0 && float64(fl) >= 0.85*float64(c.median()) {
		bound = "CPU-bound"
	}
	b.table.limit(scenario, secs(s.median()), secs(a.median()), secs(lim.median()), secs(c.median()), r.String(),
		secs(c.floor()), ratio(c.floor(), c.median())+" "+bound)
	b.table.atMost(scenario+", c/limit <= 1.10", r, 1.10)
}
