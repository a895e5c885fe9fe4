package parse

import (
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// decodeTLS builds a block's TLS settings from its flat attributes: nil
// when none is set. A certificate and its key come together.
func decodeTLS(e *evaluator, ca, caPath, cert, key, serverName string, rng hcl.Range) *config.TLS {
	t := config.TLS{CAFile: ca, CAPath: caPath, CertFile: cert, KeyFile: key, ServerName: serverName}
	if t == (config.TLS{}) {
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		e.errorf(rng, "Incomplete TLS client certificate", "cert_file and key_file must be given together.")
	}
	return &t
}

var (
	// vaultCredsPath is a secrets engine's creds endpoint (consul/creds/ROLE,
	// nomad/creds/ROLE), under any mount path.
	vaultCredsPath = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/creds/[A-Za-z0-9_.@-]+$`)
	vaultPKIPath   = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/issue/[A-Za-z0-9_.@-]+$`)
)

// decodeTargetCreds reads where a run gets the credentials of the system
// it backs up: exactly one source, the one the backup type takes.
func decodeTargetCreds(e *evaluator, raw *rawTargetCredentials, typ string) *config.TargetCredentials {
	if raw == nil {
		return nil
	}
	want := map[string][]string{
		config.TypeConsulSnapshot: {config.CredVaultConsul}, config.TypeConsulKV: {config.CredVaultConsul},
		config.TypeEtcd: {config.CredVaultPKI}, config.TypeElasticsearch: {config.CredVaultKV},
		config.TypeNomadSnapshot: {config.CredVaultNomad},
		// A command's database user: from Vault's database engine, or from
		// KV for a store the engine cannot manage.
		config.TypeCommand: {config.CredVaultDatabase, config.CredVaultKV},
	}[typ]
	wanted := strings.Join(want, " or ")
	c := &config.TargetCredentials{}
	set := 0
	pick := func(attr *hcl.Attribute, source string, pattern *regexp.Regexp, example string) {
		if attr == nil {
			return
		}
		set++
		if !slices.Contains(want, source) {
			e.errorf(attr.Range, "Credential source does not fit the backup",
				"A %s backup takes its credentials from %s; %s does not apply to it.", typ, wanted, source)
			return
		}
		c.Source, c.VaultPath = source, e.str(attr, "")
		if source == config.CredVaultKV {
			c.VaultPath = kvDataPath(c.VaultPath)
		}
		if !pattern.MatchString(c.VaultPath) {
			e.errorf(attr.Expr.Range(), "Invalid Vault path", "%q is not a path such as %q.", c.VaultPath, example)
		}
	}
	pick(raw.VaultConsulPath, config.CredVaultConsul, vaultCredsPath, "consul/creds/ROLE")
	pick(raw.VaultPKIPath, config.CredVaultPKI, vaultPKIPath, "pki/issue/ROLE")
	pick(raw.VaultKVPath, config.CredVaultKV, vaultPathPattern, "secret/data/vigil/elasticsearch")
	pick(raw.VaultNomadPath, config.CredVaultNomad, vaultCredsPath, "nomad/creds/ROLE")
	pick(raw.VaultDatabase, config.CredVaultDatabase, vaultCredsPath, "database/creds/ROLE")
	if typ == config.TypeCommand {
		c.UsernameEnv = envVarName(e, raw.UsernameEnv, "username_env", raw.DefRange)
		c.PasswordEnv = envVarName(e, raw.PasswordEnv, "password_env", raw.DefRange)
		if raw.UsernameArg != nil {
			c.UsernameArg = e.str(raw.UsernameArg, "")
			if !strings.HasPrefix(c.UsernameArg, "-") || strings.ContainsAny(c.UsernameArg, " =") {
				e.errorf(raw.UsernameArg.Expr.Range(), "Invalid username_arg",
					"username_arg = %q is not an option: name the option your client reads the user from, such as \"--user\"; vigil passes it and the user as two arguments.", c.UsernameArg)
			}
		}
	} else {
		for _, a := range []*hcl.Attribute{raw.UsernameEnv, raw.PasswordEnv, raw.UsernameArg} {
			if a != nil {
				e.errorf(a.Range, "Unexpected "+a.Name, "%s names where a command backup's database user goes; it does not apply to a %s backup.", a.Name, typ)
			}
		}
	}
	switch {
	case set == 0:
		e.errorf(raw.DefRange, "No credential source", "This credentials block needs %s.", wanted)
	case set > 1:
		e.errorf(raw.DefRange, "Conflicting credential sources", "Give exactly one credential source: %s.", wanted)
	}
	if c.Source == config.CredVaultPKI {
		c.CommonName = e.str(raw.CommonName, "vigil")
		c.TTL = e.duration(raw.TTL, 0)
	} else {
		for _, a := range []*hcl.Attribute{raw.CommonName, raw.TTL} {
			if a != nil {
				e.errorf(a.Range, "Unexpected "+a.Name, "%s only applies to vault_pki_path.", a.Name)
			}
		}
	}
	if c.Source == "" {
		return nil
	}
	return c
}
