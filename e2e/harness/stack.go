package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/plugin/esfake"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Options choose what Start brings up.
type Options struct {
	// Dir holds every server's data and logs; it must exist.
	Dir string
	// Open runs the open lab: no TLS, no ACLs, etcd without auth, as
	// `-dev` agents are (the smoke test, the benchmarks). By default the
	// stack runs as production does.
	Open bool
	// EtcdQuotaBytes raises etcd's backend quota (benchmarks).
	EtcdQuotaBytes int64
	// Progress, when set, gets one line per step with its duration.
	Progress io.Writer
}

// Stack is the five servers, configured to work together.
type Stack struct {
	Dir string
	// Sec is the CA, certificates and bootstrap tokens; nil in the open lab.
	Sec    *Security
	Consul *Consul
	Vault  *Vault
	MinIO  *MinIO
	Etcd   *Etcd
	Nomad  *Nomad
	// Docker is the dockerd behind Nomad's docker driver; nil when dockerd
	// is not installed or did not start (DockerErr).
	Docker    *Docker
	DockerErr error
	// IAM is the stand-in behind Vault's AWS engine; see iam_standin.go.
	IAM *IAMStandIn
	// ES is a fake Elasticsearch (plugin/esfake): none can be installed
	// here. It has indices logs-* and asks for the user whose password
	// sits in Vault KV at ESKVPath.
	ES *esfake.Server
	// KVAccessKey and KVSecretKey are the MinIO user whose keys sit in
	// Vault KV at KVPath.
	KVAccessKey, KVSecretKey string
	// ESUser and ESPassword are the fake cluster's user.
	ESUser, ESPassword string
	// ESAPIKey is an API key of the fake cluster (encoded), at ESKeyKVPath.
	ESAPIKey string
}

// Start brings up Consul, Vault, MinIO (trusting Vault as its OpenID
// provider), the IAM stand-in, etcd and Nomad, configures Vault for every
// credential source and Consul and Vault for Nomad's workload identities.
// On error it stops what it started.
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
		{"certificates", func() (err error) {
			if !opts.Open {
				s.Sec, err = NewSecurity(s.Dir)
			}
			return
		}},
		{"consul", func() (err error) { s.Consul, err = StartConsul(ctx, s.Dir, "consul", s.Sec); return }},
		{"vault", func() (err error) { s.Vault, err = StartVault(ctx, s.Dir, s.Sec); return }},
		{"minio", func() (err error) {
			s.MinIO, err = StartMinIO(ctx, s.Dir, s.Vault.URL()+"/v1/identity/oidc/.well-known/openid-configuration", s.Sec)
			return
		}},
		{"iam stand-in", func() (err error) { s.IAM, err = StartIAMStandIn(s.MinIO); return }},
		{"vault config", func() error { return s.Vault.Configure(ctx, s.IAM.URL, s.Consul) }},
		{"kv credentials", func() error {
			s.KVAccessKey, s.KVSecretKey = randomKey("VIGILKV", 13), randomKey("", 40)
			if err := s.MinIO.AddUser(ctx, s.KVAccessKey, s.KVSecretKey); err != nil {
				return err
			}
			s.ESUser, s.ESPassword = "vigil", randomKey("", 24)
			if err := s.Vault.PutKV(ctx, ESKVPath, map[string]any{"username": s.ESUser, "password": s.ESPassword}); err != nil {
				return err
			}
			s.ESAPIKey = base64.StdEncoding.EncodeToString([]byte("vigil-e2e:" + randomKey("", 22)))
			if err := s.Vault.PutKV(ctx, ESKeyKVPath, map[string]any{"api_key": s.ESAPIKey}); err != nil {
				return err
			}
			return s.Vault.PutKV(ctx, KVPath, map[string]any{"access_key_id": s.KVAccessKey, "secret_access_key": s.KVSecretKey})
		}},
		{"etcd", func() (err error) { s.Etcd, err = StartEtcd(ctx, s.Dir, "etcd", opts.EtcdQuotaBytes, s.Sec); return }},
		{"elasticsearch (fake)", func() (err error) {
			if s.ES, err = esfake.Start(); err == nil {
				s.ES.AddIndex("logs-2026.11.20", 120000, 2)
				s.ES.AddIndex("logs-2026.11.21", 80000, 1)
				if s.Sec != nil {
					s.ES.RequireAuth(s.ESUser, s.ESPassword)
					s.ES.AcceptAPIKey(s.ESAPIKey)
				}
			}
			return
		}},
		{"dockerd", func() error {
			// Only the docker tests need it: a dockerd that cannot start
			// fails them (DockerErr says why), not the whole stack.
			if !opts.Open {
				s.Docker, s.DockerErr = StartDocker(ctx, s.Dir)
			}
			return nil
		}},
		{"nomad", func() (err error) { s.Nomad, err = StartNomad(ctx, s.Dir, s.Consul, s.Vault, s.Sec, s.Docker); return }},
		{"vault jwt for nomad", func() error { return s.Vault.ConfigureNomadJWT(ctx, s.Nomad) }},
		{"vault nomad engine", func() error { return s.Vault.ConfigureNomadEngine(ctx, s.Nomad) }},
		{"consul jwt for nomad", func() error { return ConfigureConsulJWT(ctx, s.Consul, s.Nomad) }},
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
	s.Docker.Stop()
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
	if s.Docker != nil {
		procs = append(procs, s.Docker.Proc)
	}
	var sb strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&sb, "==> %s (%s)\n%s\n", p.Name, p.LogPath, p.LogTail(n))
	}
	return sb.String()
}

// Tokens are the credentials a vigil process runs with: what vigil setup
// generated for its configuration, never a management token.
type Tokens struct {
	Vault, Consul, Nomad string
	// ConsulAddr is the control Consul the Consul token belongs to, when
	// it is not the stack's: CONSUL_HTTP_ADDR wins over the spec's address.
	ConsulAddr string
}

// Env is the environment a vigil process needs to reach the stack, as its
// CLIs' variables: addresses, the CA, the client certificate Nomad asks
// for, and the given tokens.
func (s *Stack) Env(t Tokens) []string {
	env := append(CleanEnv(),
		"NOMAD_ADDR="+s.Nomad.URL(),
		"CONSUL_HTTP_ADDR="+s.Consul.URL(),
		"VAULT_ADDR="+s.Vault.URL(),
	)
	if s.Sec != nil {
		env = append(env,
			"NOMAD_CACERT="+s.Sec.CA.File, "NOMAD_CLIENT_CERT="+s.Sec.Admin.CertFile, "NOMAD_CLIENT_KEY="+s.Sec.Admin.KeyFile,
			"CONSUL_CACERT="+s.Sec.CA.File, "VAULT_CACERT="+s.Sec.CA.File, "AWS_CA_BUNDLE="+s.Sec.CA.File)
	} else if b := os.Getenv("AWS_CA_BUNDLE"); b != "" {
		env = append(env, "AWS_CA_BUNDLE="+b)
	}
	if t.ConsulAddr != "" {
		env = append(env, "CONSUL_HTTP_ADDR="+t.ConsulAddr) // the last value wins
	}
	for k, v := range map[string]string{"VAULT_TOKEN": t.Vault, "CONSUL_HTTP_TOKEN": t.Consul, "NOMAD_TOKEN": t.Nomad} {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// CleanEnv is this process's environment without any variable the CLIs of
// the stack read (addresses, tokens, TLS): a vigil process's starting point.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NOMAD_") || strings.HasPrefix(k, "CONSUL_") || strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "AWS_") ||
			strings.HasPrefix(k, "ETCDCTL_") || strings.HasPrefix(k, "ES_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// AdminEnv is Env with the bootstrap tokens and etcd's root certificate:
// what `vigil setup -apply` runs with, and nothing else.
func (s *Stack) AdminEnv() []string {
	env := s.Env(Tokens{Vault: s.Vault.RootToken, Consul: s.Consul.Management, Nomad: s.Nomad.Management})
	if s.Sec != nil {
		env = append(env, "ETCDCTL_CERT="+s.Sec.EtcdRoot.CertFile, "ETCDCTL_KEY="+s.Sec.EtcdRoot.KeyFile)
	}
	return env
}

// SetupConfig runs `vigil setup -apply` on the spec at path (with the
// bootstrap tokens, as an operator would), then mints the tokens vigil
// processes of configuration id run with outside Nomad, all from what
// setup wrote: a Consul token with every job's role on control, a Nomad
// token with its operator policy, and a Vault entity token with every
// job's policy. That is an operator who may run any of the jobs by hand;
// JobTokens mints one job's own.
func (s *Stack) SetupConfig(ctx context.Context, vigil, path, id string, control *Consul, vars ...string) (Tokens, error) {
	cmd := exec.CommandContext(ctx, vigil, append(append([]string{"setup", "-apply", "-json"}, vars...), path)...)
	cmd.Env = s.AdminEnv()
	var t Tokens
	if control != s.Consul {
		t.ConsulAddr = control.URL()
		cmd.Env = append(cmd.Env, "CONSUL_HTTP_ADDR="+control.URL())
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return Tokens{}, fmt.Errorf("harness: vigil setup -apply %s: %w\n%s%s", path, err, out.String(), errb.String())
	}
	var applied struct {
		Setup struct {
			ConsulRoles []struct{ Server, Name string } `json:"consul_roles"`
			Policies    []struct {
				System, Server, Name string
				Manual               bool
			}
		} `json:"setup"`
	}
	if err := json.Unmarshal(out.Bytes(), &applied); err != nil {
		return Tokens{}, fmt.Errorf("harness: vigil setup -json: %w", err)
	}
	name := "vigil-" + id
	var vaultPolicies, consulRoles []string
	for _, p := range applied.Setup.Policies {
		if p.System == "vault" && !p.Manual {
			vaultPolicies = append(vaultPolicies, p.Name)
		}
	}
	for _, r := range applied.Setup.ConsulRoles {
		if r.Server == "control" {
			consulRoles = append(consulRoles, r.Name)
		}
	}
	var err error
	if t.Vault, err = s.Vault.EntityToken(ctx, "vigil-e2e-"+id, time.Hour, vaultPolicies...); err != nil {
		return t, err
	}
	if s.Sec == nil {
		return t, nil
	}
	if len(consulRoles) > 0 {
		if t.Consul, err = control.Token(consulRoles, nil, "what "+name+"'s jobs hold, together"); err != nil {
			return t, err
		}
	}
	for _, p := range applied.Setup.Policies {
		// The operator's policy; a -snapshot policy is the runs' (through
		// Vault's Nomad engine).
		if p.System == "nomad" && strings.HasSuffix(p.Name, "-operator") {
			t.Nomad, err = s.Nomad.Token(p.Name, "plan and apply of "+name)
		}
	}
	return t, err
}

// JobTokens mints what one job of a configuration holds inside Nomad,
// from its identity's name (jobs.JobIdentity.Name): a Vault entity token
// with its policy alone and a Consul token with its role alone on
// control; the Nomad token is the operator's, from base.
func (s *Stack) JobTokens(ctx context.Context, control *Consul, base Tokens, identity string) (Tokens, error) {
	t := base
	var err error
	if t.Vault, err = s.Vault.EntityToken(ctx, "vigil-e2e-"+identity, time.Hour, identity); err != nil {
		return t, err
	}
	if s.Sec != nil {
		t.Consul, err = control.Token([]string{identity}, nil, "what job "+identity+" holds")
	}
	return t, err
}
