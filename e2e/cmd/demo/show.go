package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

type demo struct {
	stack *harness.Stack
	bin   string
	dir   string
	// tokens are what vigil setup gave the examples' configuration.
	tokens harness.Tokens
}

// backups are the example backups the demo runs, and what is not built yet.
var backups = []string{"consul-prod", "consul-kv-services", "etcd-main", "logs", "nomad-prod", "vault-prod"}

func (d *demo) vars() []string { return harness.AsFlags(d.stack.ExampleVars(d.bin)) }

func (d *demo) show(ctx context.Context) error {
	fmt.Println("\n==> Writing data: Consul KV under service/, 200 keys in etcd, a canary secret in Vault")
	if err := d.seed(ctx); err != nil {
		return err
	}
	specs := filepath.Join(d.dir, "specs")
	os.MkdirAll(specs, 0o755)
	for _, f := range []string{"main.hcl", "consul.hcl", "etcd.hcl", "elasticsearch.hcl", "nomad.hcl", "vault.hcl"} {
		b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "examples", f))
		if err != nil {
			return err
		}
		os.WriteFile(filepath.Join(specs, f), b, 0o644)
	}
	fmt.Println("\n==> vigil setup -apply examples/ (least-privilege policies, roles and binding rules, with the bootstrap tokens)")
	tok, err := d.stack.SetupConfig(ctx, d.bin, specs, "platform", d.stack.Consul, d.vars()...)
	if err != nil {
		return err
	}
	d.tokens = tok
	fmt.Println("\n==> vigil apply examples/ (with the Nomad token of the operator policy vigil setup wrote)")
	if err := d.vigil(append(append([]string{"apply", "-auto-approve"}, d.vars()...), specs)...); err != nil {
		return err
	}
	for _, name := range backups {
		fmt.Printf("\n==> Forcing vigil-%s (nomad job periodic force) and waiting\n", name)
		alloc, err := d.stack.Nomad.ForceRun(ctx, "vigil-"+name, 3*time.Minute)
		if err != nil {
			return err
		}
		fmt.Printf("    allocation %s: %s\n", alloc.ID[:8], alloc.ClientStatus)
		if alloc.ClientStatus != "complete" {
			fmt.Println(d.stack.Nomad.Explain(alloc))
		}
	}
	for _, name := range []string{"consul-prod", "etcd-main", "logs", "nomad-prod", "vault-prod"} {
		fmt.Printf("\n==> Forcing the restore drill vigil-verify-%s and waiting\n", name)
		alloc, err := d.stack.Nomad.ForceRun(ctx, "vigil-verify-"+name, 3*time.Minute)
		if err != nil {
			return err
		}
		fmt.Printf("    allocation %s: %s\n", alloc.ID[:8], alloc.ClientStatus)
		if alloc.ClientStatus != "complete" {
			fmt.Println(d.stack.Nomad.Explain(alloc))
		}
	}
	// Every storage of the examples: vault-prod has its own
	// (vigil-vault/), the others share vigil/.
	for _, prefix := range []string{"vigil/", "vigil-vault/"} {
		fmt.Println("\n==> What landed in S3 (s3://" + harness.Bucket + "/" + prefix + ")")
		if err := d.objects(ctx, prefix); err != nil {
			return err
		}
	}
	fmt.Println("\n==> Nomad jobs")
	if err := d.jobs(); err != nil {
		return err
	}
	fmt.Println("\n==> vigil status (the run records on Consul; the checks vigil serve keeps)")
	serveURL := d.serveURL(ctx)
	time.Sleep(6 * time.Second) // one refresh of vigil serve
	_ = d.vigil(append(append([]string{"status"}, d.vars()...), "-config", specs)...)
	s := d.stack
	fmt.Printf(`
==> The stack runs as production does: TLS everywhere (one CA), ACLs on
    Consul (default deny) and Nomad, etcd with client certificates and
    auth. Every vigil run holds only what "vigil setup" wrote.

    CA certificate (trust it in a browser or pass it to the CLIs):
      %[1]s

    Consul UI:   %[2]s/ui/dc1/services/vigil/instances/vigil/vigil/health-checks
      log in with the management token %[3]s
      or: export CONSUL_HTTP_ADDR=%[2]s CONSUL_CACERT=%[1]s CONSUL_HTTP_TOKEN=%[3]s
    Nomad API:   %[4]s (this Nomad is built from Go modules and has no web UI)
      export NOMAD_ADDR=%[4]s NOMAD_CACERT=%[1]s \
             NOMAD_CLIENT_CERT=%[5]s NOMAD_CLIENT_KEY=%[6]s \
             NOMAD_TOKEN=%[7]s
    Vault:       %[8]s
      export VAULT_ADDR=%[8]s VAULT_CACERT=%[1]s VAULT_TOKEN=%[9]s
    vigil serve: %[10]s/ (the status page; %[10]s/v1/status as JSON)
    MinIO (S3):  %[11]s (bucket %[12]q)
    etcd:        %[13]s (client certificate CN root: %[14]s)
    Elasticsearch (fake, plugin/esfake): %[15]s
    Logs and data: %[16]s
`, s.Sec.CA.File, s.Consul.URL(), s.Consul.Management, s.Nomad.URL(), s.Sec.Admin.CertFile, s.Sec.Admin.KeyFile, s.Nomad.Management,
		s.Vault.URL(), s.Vault.RootToken, serveURL, s.MinIO.Endpoint(), harness.Bucket, s.Etcd.Endpoint, s.Sec.EtcdRoot.CertFile, s.ES.URL, d.dir)
	return d.printByHand(specs)
}

// printByHand writes the variables vigil's own runs use to a file and
// prints the commands that read the demo's backups by hand.
func (d *demo) printByHand(specs string) error {
	envFile := filepath.Join(d.dir, "vigil.env")
	var exports strings.Builder
	for _, kv := range d.stack.Env(d.tokens)[len(harness.CleanEnv()):] {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&exports, "export %s=%q\n", k, v)
	}
	if err := os.WriteFile(envFile, []byte(exports.String()), 0o600); err != nil {
		return err
	}
	// The variables go into a var file: on a command line, list values
	// such as ["dc1"] would need quoting from the shell.
	varFile := filepath.Join(d.dir, "demo.vars.hcl")
	var vb strings.Builder
	for _, kv := range d.stack.ExampleVars(d.bin) {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "{") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&vb, "%s = %s\n", k, v)
	}
	if err := os.WriteFile(varFile, []byte(vb.String()), 0o600); err != nil {
		return err
	}
	vars := "-var-file " + varFile
	// A restore writes: it takes the cluster's own token, not the
	// operator's (which may only read what vigil setup granted).
	tokenFile := filepath.Join(d.dir, "consul-management.token")
	if err := os.WriteFile(tokenFile, []byte(d.stack.Consul.Management), 0o600); err != nil {
		return err
	}
	fmt.Printf(`
==> vigil by hand, with the operator tokens vigil setup used (in %[1]s).
    No S3 key is in any variable: the backups' data in MinIO is read only
    through vigil, which gets the storage's short-lived keys from Vault
    with the token in that file (the runs' own policy), as a run does. The
    CLI exports above reach Consul, Nomad and Vault, not the bucket; a
    restore writes with the cluster's own token (-to-token-file).

    source %[1]s
    %[2]s status -config %[3]s %[4]s
    %[2]s list -config %[3]s -backup consul-kv-services %[4]s
    %[2]s restore -config %[3]s -backup consul-kv-services -latest -mode merge -to-token-file %[5]s %[4]s
    %[2]s verify -config %[3]s -backup etcd-main -latest %[4]s
`, envFile, d.bin, specs, vars, tokenFile)
	return nil
}

func (d *demo) vigil(args ...string) error {
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.stack.Env(d.tokens)
	cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vigil %s: %w", args[0], err)
	}
	return nil
}

func (d *demo) seed(ctx context.Context) error {
	cc, err := d.stack.Consul.Client()
	if err != nil {
		return err
	}
	for _, kv := range [][2]string{
		{"service/web/config", `{"port": 8080, "replicas": 3}`},
		{"service/web/feature-flags", `{"new-checkout": true}`},
		{"service/api/config", "timeout=30s"},
		{"service/db/primary", "db-0.internal:5432"},
	} {
		if _, err := cc.KV().Put(&consul.KVPair{Key: kv[0], Value: []byte(kv[1])}, nil); err != nil {
			return err
		}
	}
	ec, err := d.stack.Etcd.Client()
	if err != nil {
		return err
	}
	defer ec.Close()
	for i := 0; i < 200; i++ {
		if _, err := ec.Put(ctx, fmt.Sprintf("/registry/pods/default/web-%03d", i), strings.Repeat(`{"kind":"Pod"}`, 20)); err != nil {
			return err
		}
	}
	// The canary the Vault drill reads in its restored copy.
	return d.stack.Vault.PutKV(ctx, "secret/data/canary", map[string]any{"written": "before the backup"})
}

func (d *demo) objects(ctx context.Context, prefix string) error {
	objs, err := d.stack.MinIO.List(ctx, prefix)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    Key\tSize\tSHA256 (from its manifest)")
	for _, o := range objs {
		sha := ""
		if strings.HasSuffix(o.Key, manifest.Suffix) {
			continue
		}
		if m := d.manifestFor(ctx, o.Key); m != nil {
			sha = m.SHA256
		}
		fmt.Fprintf(tw, "    %s\t%d\t%s\n", o.Key, o.Size, sha)
	}
	return tw.Flush()
}

func (d *demo) manifestFor(ctx context.Context, key string) *manifest.Manifest {
	i := strings.Index(key, "Z.")
	if i < 0 {
		return nil
	}
	out, err := d.stack.MinIO.RootClient().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key[:i+1] + manifest.Suffix)})
	if err != nil {
		return nil
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	m, err := manifest.Parse(b)
	if err != nil {
		return nil
	}
	return m
}

// jobs prints each job as `nomad job status` lists them.
func (d *demo) jobs() error {
	nc, err := d.stack.Nomad.Client()
	if err != nil {
		return err
	}
	stubs, _, err := nc.Jobs().PrefixList("vigil-")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    ID\tType\tPriority\tStatus\tSubmit Date")
	for _, s := range stubs {
		typ := s.Type
		if s.Periodic {
			typ += "/periodic"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%d\t%s\t%s\n", s.ID, typ, s.Priority, s.Status, time.Unix(0, s.SubmitTime).Format(time.RFC3339))
	}
	return tw.Flush()
}

func indent(w io.Writer) io.Writer { return &prefixWriter{w: w} }

type prefixWriter struct {
	w   io.Writer
	mid bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			io.WriteString(p.w, "    ")
		}
		io.WriteString(p.w, line)
		p.mid = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}

func tool(name string) string {
	p, err := harness.Tool(name)
	if err != nil {
		return name
	}
	return p
}

// serveURL finds where the vigil-serve allocation listens.
func (d *demo) serveURL(ctx context.Context) string {
	nc, err := d.stack.Nomad.Client()
	if err != nil {
		return "(unknown)"
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		allocs, _, err := nc.Jobs().Allocations(jobs.ServePrefix+"platform", false, nil)
		if err != nil {
			continue
		}
		for _, a := range allocs {
			if a.ClientStatus != "running" {
				continue
			}
			full, _, err := nc.Allocations().Info(a.ID, nil)
			if err != nil || full.AllocatedResources == nil {
				continue
			}
			for _, n := range full.AllocatedResources.Shared.Networks {
				for _, p := range n.DynamicPorts {
					if p.Label == "http" {
						return fmt.Sprintf("http://%s:%d", n.IP, p.Value)
					}
				}
			}
		}
	}
	return "(vigil-serve is not running)"
}
