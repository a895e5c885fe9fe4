package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Verify restores the snapshot into a scratch Nomad server the drill owns
// (a server alone, with no client, so no restored job is ever scheduled)
// and runs the job and variable assertions there. The server and its
// folder go on every path.
func (t *NomadSnapshot) Verify(ctx context.Context, r io.Reader, v *config.Verify, o VerifyOptions) (*VerifyResult, error) {
	bin, err := scratchBinary("nomad", scratchOf(o).Nomad)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "vigil-drill-nomad-")
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer os.RemoveAll(dir)
	p, addr, err := scratch.NomadServer(ctx, bin, dir, "vigil-drill", "", nil)
	if err != nil {
		return nil, fmt.Errorf("drill: scratch nomad: %w", err)
	}
	defer p.Stop(10 * time.Second)
	c, err := scratchNomadClient(addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.Operator().SnapshotRestore(r, (&nomad.WriteOptions{}).WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("drill: restore into the scratch nomad: %w", err)
	}
	return assertNomad(ctx, c, v)
}

// scratchNomadClient reaches the drill's server: plain HTTP on loopback,
// without the environment's token, region or TLS, which are the real
// cluster's.
func scratchNomadClient(addr string) (*nomad.Client, error) {
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + addr, Region: "global"})
	if err != nil {
		return nil, fmt.Errorf("drill: scratch nomad client: %w", err)
	}
	c.SetSecretID("")
	return c, nil
}

// assertNomad checks min_jobs (jobs as registered, across namespaces;
// periodic launches do not count), named jobs and variables.
func assertNomad(ctx context.Context, c *nomad.Client, v *config.Verify) (*VerifyResult, error) {
	q := func(ns string) *nomad.QueryOptions {
		if ns == "" {
			ns = "default"
		}
		return (&nomad.QueryOptions{Namespace: ns}).WithContext(ctx)
	}
	stubs, _, err := c.Jobs().List(q("*"))
	if err != nil {
		return nil, fmt.Errorf("drill: list restored jobs: %w", err)
	}
	jobs := 0
	for _, s := range stubs {
		if s.ParentID == "" {
			jobs++
		}
	}
	res := &VerifyResult{Values: map[string]any{"jobs_restored": jobs}}
	if v.MinJobs > 0 {
		res.Checks = append(res.Checks, Check{
			Name: fmt.Sprintf("min_jobs %d", v.MinJobs), Passed: jobs >= v.MinJobs,
			Detail: fmt.Sprintf("restored %s jobs, expected ≥ %s", thousands(jobs), thousands(v.MinJobs)),
		})
	}
	for _, j := range v.Jobs {
		_, _, err := c.Jobs().Info(j.Name, q(j.Namespace))
		ok := err == nil
		chk := Check{Name: "job " + j.Name, Passed: ok, Detail: fmt.Sprintf("job %s present", j.Name)}
		if !ok {
			chk.Detail = fmt.Sprintf("job %s missing from namespace %s (restored %s jobs)", j.Name, nsName(j.Namespace), thousands(jobs))
		}
		res.Checks = append(res.Checks, chk)
	}
	for _, vr := range v.Variables {
		// The listing gives metadata only: a variable's items stay
		// encrypted, and the drill never reads them.
		metas, _, err := c.Variables().PrefixList(vr.Name, q(vr.Namespace))
		if err != nil {
			return nil, fmt.Errorf("drill: list restored variables: %w", err)
		}
		ok := false
		for _, m := range metas {
			ok = ok || m.Path == vr.Name
		}
		chk := Check{Name: "variable " + vr.Name, Passed: ok, Detail: fmt.Sprintf("variable %s present", vr.Name)}
		if !ok {
			chk.Detail = fmt.Sprintf("variable %s missing from namespace %s", vr.Name, nsName(vr.Namespace))
		}
		res.Checks = append(res.Checks, chk)
	}
	return res, nil
}

func nsName(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
