package harness

import (
	"context"
	"fmt"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/plugin/esfake"
)

// Options choose what Start brings up.
type Options struct {
	// Dir holds every server's data and logs; it must exist.
	Dir string
	// EtcdQuotaBytes raises etcd's backend quota (benchmarks).
	EtcdQuotaBytes int64
	// Progress, when set, gets one line per step with its duration.
	Progress io.Writer
}

// Stack is the five servers, configured to work together.
type Stack struct {
	Dir    string
	Consul *Consul
	Vault  *Vault
	MinIO  *MinIO
	Etcd   *Etcd
	Nomad  *Nomad
	// IAM is the stand-in behind Vault's AWS engine; see iam_standin.go.
	IAM *IAMStandIn
	// ES is a fake Elasticsearch (plugin/esfake): none can be installed
	// here. It has indices logs-* and a repository the examples register.
	ES *esfake.Server
	// KVAccessKey and KVSecretKey are the MinIO user whose keys sit in
	// Vault KV at KVPath.
	KVAccessKey, KVSecretKey string
}

// Start brings up Consul, Vault, MinIO (trusting Vault as its OpenID
// provider), the IAM stand-in, etcd and Nomad, and configures Vault for
// every credential source. On error it stops what it started.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	s = &Stack{Dir: opts.Dir}
	defer func() {
		if err != nil {
			s.Stop()
			s = nil
		}
	}()
	step := func(name string, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "harness: %-28s %6.1fs\n", name, time.Since(start).Seconds())
		}
		return nil
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"consul", func() (err error) { s.Consul, err = StartConsul(ctx, s.Dir, "consul"); return }},
		{"vault", func() (err error) { s.Vault, err = StartVault(ctx, s.Dir); return }},
		{"minio", func() (err error) {
			s.MinIO, err = StartMinIO(ctx, s.Dir, s.Vault.URL()+"/v1/identity/oidc/.well-known/openid-configuration")
			return
		}},
		{"iam stand-in", func() (err error) { s.IAM, err = StartIAMStandIn(s.MinIO); return }},
		{"vault config", func() error { return s.Vault.Configure(ctx, s.IAM.URL) }},
		{"kv credentials", func() error {
			s.KVAccessKey, s.KVSecretKey = randomKey("VIGILKV", 13), randomKey("", 40)
			if err := s.MinIO.AddUser(ctx, s.KVAccessKey, s.KVSecretKey); err != nil {
				return err
			}
			return s.Vault.PutKVKeys(ctx, s.KVAccessKey, s.KVSecretKey)
		}},
		{"etcd", func() (err error) { s.Etcd, err = StartEtcd(ctx, s.Dir, "etcd", opts.EtcdQuotaBytes); return }},
		{"elasticsearch (fake)", func() (err error) {
			if s.ES, err = esfake.Start(); err == nil {
				s.ES.AddIndex("logs-2026.11.20", 120000, 2)
				s.ES.AddIndex("logs-2026.11.21", 80000, 1)
			}
			return
		}},
		{"nomad", func() (err error) { s.Nomad, err = StartNomad(ctx, s.Dir, s.Consul.Addr, s.Vault.URL()); return }},
		{"vault jwt for nomad", func() error { return s.Vault.ConfigureNomadJWT(ctx, s.Nomad.URL()) }},
	}
	for _, st := range steps {
		if err := step(st.name, st.f); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Stop ends every server, Nomad first so its tasks go with it.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	s.Nomad.Stop()
	if s.ES != nil {
		s.ES.Close()
	}
	s.Etcd.Stop()
	s.IAM.Stop()
	s.MinIO.Stop()
	s.Vault.Stop()
	s.Consul.Stop()
}

// LogTails returns the last lines of every server's log, for failing tests.
func (s *Stack) LogTails(n int) string {
	var procs []*scratch.Proc
	if s.Consul != nil {
		procs = append(procs, s.Consul.Proc)
	}
	if s.Vault != nil {
		procs = append(procs, s.Vault.Proc)
	}
	if s.MinIO != nil {
		procs = append(procs, s.MinIO.Proc)
	}
	if s.Etcd != nil {
		procs = append(procs, s.Etcd.Proc)
	}
	if s.Nomad != nil {
		procs = append(procs, s.Nomad.Proc)
	}
	var sb strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&sb, "==> %s (%s)\n%s\n", p.Name, p.LogPath, p.LogTail(n))
	}
	return sb.String()
}

// Env is the environment a vigil process needs to reach the stack, with a
// Vault token that has an entity (as a Nomad task's token has).
func (s *Stack) Env(vaultToken string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NOMAD_") || strings.HasPrefix(k, "CONSUL_") || strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "AWS_") && k != "AWS_CA_BUNDLE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"NOMAD_ADDR="+s.Nomad.URL(),
		"CONSUL_HTTP_ADDR="+s.Consul.Addr,
		"VAULT_ADDR="+s.Vault.URL(),
		"VAULT_TOKEN="+vaultToken,
	)
}
