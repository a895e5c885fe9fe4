package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// ConsulConfig starts from the environment (CONSUL_HTTP_ADDR,
// CONSUL_HTTP_TOKEN(_FILE), CONSUL_CACERT, CONSUL_CAPATH,
// CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME,
// CONSUL_NAMESPACE, CONSUL_HTTP_SSL(_VERIFY)) as the consul CLI does, and
// combines the spec's address, datacenter, namespace and TLS settings with
// it by p. An https:// address speaks TLS; verification is never turned
// off here.
func ConsulConfig(address, datacenter, namespace string, t *config.TLS, p Precedence) *consul.Config {
	cfg := consul.DefaultConfig()
	SetIf(&cfg.Address, p.Address(consul.HTTPAddrEnvName, address))
	SetIf(&cfg.Datacenter, datacenter)
	p.Set(&cfg.Namespace, namespace)
	// Split a scheme in the address the way the consul client does, so
	// raw requests (the streamed KV export) use the same URL.
	if scheme, host, ok := strings.Cut(cfg.Address, "://"); ok {
		cfg.Scheme, cfg.Address = scheme, host
	}
	if t != nil {
		p.Set(&cfg.TLSConfig.CAFile, t.CAFile)
		p.Set(&cfg.TLSConfig.CAPath, t.CAPath)
		p.Set(&cfg.TLSConfig.CertFile, t.CertFile)
		p.Set(&cfg.TLSConfig.KeyFile, t.KeyFile)
		p.Set(&cfg.TLSConfig.Address, t.ServerName)
	}
	return cfg
}

// ConsulClient builds a client from ConsulConfig; token, when set, replaces
// the environment's (a token Vault issued for the run).
func ConsulClient(address, datacenter, namespace string, t *config.TLS, p Precedence, token string) (*consul.Client, error) {
	return newConsulClient(ConsulConfig(address, datacenter, namespace, t, p), token)
}

func newConsulClient(cfg *consul.Config, token string) (*consul.Client, error) {
	SetIf(&cfg.Token, token)
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul: client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

// ConsulSnapshot backs up the whole Consul state through /v1/snapshot.
type ConsulSnapshot struct {
	src    config.ConsulSource
	client *consul.Client
}

var _ Target = (*ConsulSnapshot)(nil)

// NewConsulSnapshot returns the target for src; token, when set, is the
// run's own Consul token.
func NewConsulSnapshot(src config.ConsulSource, token string) (*ConsulSnapshot, error) {
	c, err := ConsulClient(src.Address, src.Datacenter, "", src.TLS, SpecOverEnv, token)
	if err != nil {
		return nil, err
	}
	return &ConsulSnapshot{src: src, client: c}, nil
}

// Snapshot streams /v1/snapshot into w and proves the archive whole as
// the bytes pass (readRaftArchive), as `consul snapshot save` does before
// it keeps a file: an answer that ends early, even cleanly, fails here,
// before any manifest. With stale, any server may answer.
func (t *ConsulSnapshot) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	q := (&consul.QueryOptions{AllowStale: t.src.Stale}).WithContext(ctx)
	rc, meta, err := t.client.Snapshot().Save(q)
	if err != nil {
		return nil, fmt.Errorf("consul: snapshot save: %w", ConsulDenied(err, `acl = "write"`))
	}
	defer rc.Close()
	check := newArchiveTee()
	_, err = io.Copy(io.MultiWriter(w, check), rc)
	a, cerr := check.finish(err)
	if cerr != nil && (err == nil || errors.Is(err, ErrIncomplete)) {
		return nil, fmt.Errorf("consul: snapshot save: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("consul: snapshot save: stream: %w", err)
	}
	if a.StateSize == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("consul: snapshot save: %w: state.bin is empty", ErrEmpty)
	}
	src := Source{"raft_index": fmt.Sprint(meta.LastIndex), "raft_term": fmt.Sprint(a.Meta.Term), "state_bytes": fmt.Sprint(a.StateSize)}
	if dc := t.datacenter(ctx); dc != "" {
		src["datacenter"] = dc
	}
	return src, nil
}

func (t *ConsulSnapshot) datacenter(ctx context.Context) string {
	if t.src.Datacenter != "" {
		return t.src.Datacenter
	}
	self, err := t.client.Agent().Self()
	if err != nil {
		return ""
	}
	if cfg, ok := self["Config"]; ok {
		if dc, ok := cfg["Datacenter"].(string); ok {
			return dc
		}
	}
	return ""
}

// RestoresWhole implements WholeRestorer: Consul spools and checks the
// whole archive first (snapshot.Read).
func (t *ConsulSnapshot) RestoresWhole() bool { return true }

// Restore PUTs the snapshot to /v1/snapshot, replacing the cluster state.
func (t *ConsulSnapshot) Restore(ctx context.Context, r io.Reader, _ RestoreOptions) error {
	if err := t.client.Snapshot().Restore((&consul.WriteOptions{}).WithContext(ctx), r); err != nil {
		return fmt.Errorf("consul: snapshot restore: %w", err)
	}
	return nil
}

// consulGet makes a raw GET to the Consul HTTP API, for answers too large to
// decode at once.
func consulGet(ctx context.Context, cfg *consul.Config, path string, query url.Values) (*http.Response, error) {
	hc, err := consul.NewHttpClient(cfg.Transport, cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	if cfg.Datacenter != "" {
		query.Set("dc", cfg.Datacenter)
	}
	if cfg.Namespace != "" {
		query.Set("ns", cfg.Namespace)
	}
	u := url.URL{Scheme: cfg.Scheme, Host: cfg.Address, Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if cfg.Token != "" {
		req.Header.Set("X-Consul-Token", cfg.Token)
	}
	return hc.Do(req)
}

// consulRefusal turns a Consul answer that is not a success into an error.
// A 403 names the permission the token lacks (need), so an operator knows
// which rule to add instead of reading a bare "Permission denied".
func consulRefusal(resp *http.Response, need string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("consul: token lacks %s (403): %s", need, msg)
	}
	return fmt.Errorf("%s: %s", resp.Status, msg)
}

// ControlClient reaches the control Consul (locks, records, checks) with
// the environment's token: inside Nomad, the task's workload identity.
// CONSUL_HTTP_ADDR and the other CONSUL_* variables win over the spec's
// consul block, as they do for the consul CLI.
func ControlClient(c config.Control) (*consul.Client, error) {
	return newConsulClient(ControlConfig(c), "")
}

// ControlConfig is the control Consul's client configuration: what
// ControlClient connects with (the status page links to its address).
func ControlConfig(c config.Control) *consul.Config {
	return ConsulConfig(c.Address, c.Datacenter, c.Namespace, c.TLS, EnvOverSpec)
}

// ConsulDenied names the rule a call Consul refused (403, "Permission
// denied") needed, so an operator knows which rule to add instead of
// reading a bare "Permission denied": need as vigil setup writes it, or
// when need is "", the permission Consul's message names. Other errors
// pass unchanged.
func ConsulDenied(err error, need string) error {
	if err == nil || !strings.Contains(err.Error(), "403") && !strings.Contains(err.Error(), "Permission denied") {
		return err
	}
	if need == "" {
		need = "a permission"
		if m := lacksPermission.FindStringSubmatch(err.Error()); m != nil {
			need = fmt.Sprintf("%s %q %s", m[1], m[3], m[2])
		}
	}
	return fmt.Errorf("consul: token lacks %s (403): %w", need, err)
}

// lacksPermission reads Consul's "lacks permission 'node:write' on
// \"vigil\"".
var lacksPermission = regexp.MustCompile(`lacks permission '(\w+):(\w+)' on \\?"([^"\\]*)`)
