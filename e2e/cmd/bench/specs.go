package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// manySpecs writes n consul_kv backups into a spec directory, 100 to a
// file, as a team with many backups would keep them.
func (b *bench) manySpecs(name string, n int, header string) (string, error) {
	return b.manySpecsAt(name, n, header, func(i int) string { return fmt.Sprintf("%d * * * *", i%60) })
}

// manySpecsAt is manySpecs with each backup's schedule.
func (b *bench) manySpecsAt(name string, n int, header string, schedule func(int) string) (string, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	main := header + `
storage "local" "disk" {
  path        = "/var/lib/vigil/backups"
  host_volume = "backups"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(main), 0o644); err != nil {
		return "", err
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `
backup "consul_kv" "kv-%05d" {
  schedule = %q
  storage  = storage.local.disk
  consul {
    prefix = "app/%d/"
  }
  retain {
    last = 24
  }
}
`, i, schedule(i), i)
		if (i+1)%100 == 0 || i == n-1 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("backups-%03d.hcl", i/100)), []byte(sb.String()), 0o644); err != nil {
				return "", err
			}
			sb.Reset()
		}
	}
	return dir, nil
}

// compile times `vigil validate` (evaluate and compile) of many backups.
func (b *bench) compile() error {
	fmt.Printf("== compile %d backups\n", *specs)
	dir, err := b.manySpecs("compile", *specs, "consul {\n  enabled = false\n}\n")
	if err != nil {
		return err
	}
	var s series
	for i := 0; i < *runs; i++ {
		x, err := measure(b.env(), b.vigil, "validate", dir)
		if err != nil {
			return err
		}
		s = append(s, x)
	}
	b.table.add(fmt.Sprintf("compile %d backups (vigil validate)", *specs), "", "", "", secs(s.median()), "", "", mib(s.maxRSS()), "", s.minMax())
	return nil
}

// plan times `vigil plan` of many backups against a real Nomad.
func (b *bench) plan(ctx context.Context) error {
	fmt.Printf("== plan %d backups against Nomad\n", *planJobs)
	n, err := harness.StartNomad(ctx, b.dir, nil, nil, nil, nil)
	if err != nil {
		return err
	}
	defer n.Stop()
	dir, err := b.manySpecs("plan", *planJobs, "consul {\n  enabled = false\n}\nnomad {\n  driver = \"raw_exec\"\n  binary = \"/usr/local/bin/vigil\"\n}\n")
	if err != nil {
		return err
	}
	var s series
	for i := 0; i < *runs; i++ {
		x, err := measure(b.env(), b.vigil, "plan", "-address", n.URL(), dir)
		if err != nil && !strings.Contains(err.Error(), "exit status 1") {
			return err
		}
		s = append(s, x)
	}
	b.table.add(fmt.Sprintf("plan %d backups (vigil plan)", *planJobs), "", "", "", secs(s.median()), "", "", mib(s.maxRSS()), "", s.minMax())
	return nil
}
