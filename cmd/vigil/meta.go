package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/hcl/parse"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/plugin"
)

// Meta is what every command shares: the terminal and the common flags.
type Meta struct {
	Ui     cli.Ui
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// flagSets are the flag sets commands made: the docs test reads
	// every command's flags from them.
	flagSets []*flag.FlagSet
}

// Exit codes shared by commands, following nomad's.
const (
	exitOK      = 0
	exitFail    = 1
	exitChanges = 1
	exitError   = 255
)

func (m *Meta) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {}
	m.flagSets = append(m.flagSets, fs)
	return fs
}

type stringSlice []string

func (s *stringSlice) String() string     { return strings.Join(*s, ",") }
func (s *stringSlice) Set(v string) error { *s = append(*s, v); return nil }

// specFlags are -var and -var-file.
type specFlags struct {
	vars     stringSlice
	varFiles stringSlice
}

func (s *specFlags) register(fs *flag.FlagSet) {
	fs.Var(&s.vars, "var", "")
	fs.Var(&s.varFiles, "var-file", "")
}

const specFlagsHelp = `Spec Options:

  -var NAME=VALUE
    Set a variable declared in the spec. Repeatable; wins over -var-file.

  -var-file FILE
    Read variable values from an HCL file of NAME = VALUE lines. Repeatable.`

// loadSpec evaluates the spec at path and prints diagnostics. It returns nil
// when the spec has errors.
func (m *Meta) loadSpec(path string, sf specFlags) *config.Config {
	cfg, files, diags := parse.Load(path, parse.Options{Vars: sf.vars, VarFiles: sf.varFiles})
	if len(diags) > 0 {
		parse.WriteDiagnostics(m.Stderr, files, diags)
	}
	return cfg
}

// specPath returns the single optional PATH argument, "." by default.
func specPath(args []string) (string, error) {
	switch len(args) {
	case 0:
		return ".", nil
	case 1:
		return args[0], nil
	}
	return "", fmt.Errorf("expected at most one PATH argument, got %d: %s", len(args), strings.Join(args, " "))
}

// nomadFlags are the Nomad connection flags. Unset flags fall back to
// NOMAD_ADDR, NOMAD_REGION, NOMAD_NAMESPACE and NOMAD_TOKEN through
// api.DefaultConfig, as the nomad CLI does.
type nomadFlags struct {
	address, region, namespace, token                 string
	caCert, caPath, clientCert, clientKey, serverName string
}

func (n *nomadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.address, "address", "", "")
	fs.StringVar(&n.region, "region", "", "")
	fs.StringVar(&n.namespace, "namespace", "", "")
	fs.StringVar(&n.token, "token", "", "")
	fs.StringVar(&n.caCert, "ca-cert", "", "")
	fs.StringVar(&n.caPath, "ca-path", "", "")
	fs.StringVar(&n.clientCert, "client-cert", "", "")
	fs.StringVar(&n.clientKey, "client-key", "", "")
	fs.StringVar(&n.serverName, "tls-server-name", "", "")
}

const nomadFlagsHelp = `Nomad Options:

  -address=<addr>
    The address of the Nomad server. Overrides NOMAD_ADDR.
    Default = http://127.0.0.1:4646

  -region=<region>
    The region of the Nomad servers to forward commands to. Overrides NOMAD_REGION.

  -namespace=<namespace>
    The target namespace for queries and actions. Overrides NOMAD_NAMESPACE.

  -token=<token>
    The ACL token to use. Overrides NOMAD_TOKEN.

  -ca-cert, -ca-path, -client-cert, -client-key, -tls-server-name
    TLS settings, as the nomad CLI takes them. Override NOMAD_CACERT,
    NOMAD_CAPATH, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY and
    NOMAD_TLS_SERVER_NAME, which override the spec's top-level nomad
    block (address, ca_file, ca_path, cert_file, key_file,
    tls_server_name).`

// client builds the Nomad API client: flags, then NOMAD_* variables, then
// the spec's top-level nomad block (spec).
func (n *nomadFlags) client(spec config.Nomad) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if os.Getenv("NOMAD_ADDR") == "" && spec.Address != "" {
		cfg.Address = spec.Address
	}
	if t := spec.TLS; t != nil {
		tc := cfg.TLSConfig
		plugin.SetEmpty(&tc.CACert, t.CAFile)
		plugin.SetEmpty(&tc.CAPath, t.CAPath)
		plugin.SetEmpty(&tc.ClientCert, t.CertFile)
		plugin.SetEmpty(&tc.ClientKey, t.KeyFile)
		plugin.SetEmpty(&tc.TLSServerName, t.ServerName)
	}
	plugin.SetIf(&cfg.TLSConfig.CACert, n.caCert)
	plugin.SetIf(&cfg.TLSConfig.CAPath, n.caPath)
	plugin.SetIf(&cfg.TLSConfig.ClientCert, n.clientCert)
	plugin.SetIf(&cfg.TLSConfig.ClientKey, n.clientKey)
	plugin.SetIf(&cfg.TLSConfig.TLSServerName, n.serverName)
	if n.address != "" {
		cfg.Address = n.address
	}
	if n.region != "" {
		cfg.Region = n.region
	}
	if n.namespace != "" {
		cfg.Namespace = n.namespace
	}
	if n.token != "" {
		cfg.SecretID = n.token
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("nomad: client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

func compileOptions() jobs.Options { return jobs.Options{Version: version} }

func (m *Meta) errorf(format string, args ...any) {
	m.Ui.Error(fmt.Sprintf(format, args...))
}
