package config

import "strings"

// VaultNeed is one capability a credential source needs on a Vault path,
// and what for. The run checks them before it asks Vault for anything
// (tasks/creds); vigil setup writes them into the run's Vault policy.
type VaultNeed struct {
	// Path is as a policy names it; lease paths end in "/*".
	Path       string `json:"path"`
	Capability string `json:"capability"`
	Why        string `json:"why"`
}

// LeasePath is the policy path under which Vault's lease API acts on the
// leases of path's secrets: sys/leases/<op>/<path>/*.
func LeasePath(op, path string) string { return "sys/leases/" + op + "/" + path + "/*" }

// VaultNeeds lists what a credential source reading path needs: reading
// (or, to issue a certificate, writing) the path, and renewing and
// revoking the leases of what it gets.
func VaultNeeds(source, path string) []VaultNeed {
	switch source {
	case CredVaultIdentitySTS:
		return []VaultNeed{{path, "read", "to get the identity token S3's STS exchanges for keys"}}
	case CredVaultKV:
		return []VaultNeed{{path, "read", "to read the credentials stored there"}}
	case CredVaultAWS:
		n := []VaultNeed{{path, "read", "to get the run's S3 keys"},
			{LeasePath("revoke", path), "update", "to revoke the keys when the run ends"}}
		if strings.Contains(path, "/creds/") {
			n = append(n, VaultNeed{LeasePath("renew", path), "update", "to renew the keys while the run lasts"})
		}
		return n
	case CredVaultConsul, CredVaultNomad:
		what := map[string]string{CredVaultConsul: "Consul", CredVaultNomad: "Nomad"}[source]
		return []VaultNeed{{path, "read", "to get the run's " + what + " token"},
			{LeasePath("renew", path), "update", "to renew the token while the run lasts"},
			{LeasePath("revoke", path), "update", "to revoke the token when the run ends"}}
	case CredVaultPKI:
		return []VaultNeed{{path, "update", "to issue the run's client certificate"},
			{LeasePath("revoke", path), "update", "to revoke the certificate when the run ends"}}
	}
	return nil
}

// VaultNeeds lists what the storage's credential source needs.
func (c Credentials) VaultNeeds() []VaultNeed {
	path := c.VaultPath
	if c.Source == CredVaultIdentitySTS {
		path = "identity/oidc/token/" + c.IdentityRole
	}
	return VaultNeeds(c.Source, path)
}

// VaultRaftNeed is what a vault_raft run's own Vault token needs on the
// cluster it backs up.
var VaultRaftNeed = VaultNeed{"sys/storage/raft/snapshot", "read", "to stream the integrated storage's snapshot"}

// VaultNeeds lists what the target's credential source needs.
func (c *TargetCredentials) VaultNeeds() []VaultNeed {
	if c == nil {
		return nil
	}
	return VaultNeeds(c.Source, c.VaultPath)
}

// VaultNeeds lists what a signed backup's jobs need of Transit: a
// signature per manifest, and signature checks.
func (s *Signing) VaultNeeds() []VaultNeed {
	if s == nil {
		return nil
	}
	p := func(op, key string) string { return s.Mount + "/" + op + "/" + key }
	op, why := "hmac", "to sign each manifest (HMAC)"
	if s.Type == "ed25519" {
		op, why = "sign", "to sign each manifest"
	}
	ns := []VaultNeed{{p(op, s.Key), "update", why}, {p("verify", s.Key), "update", "to check manifests' signatures"}}
	for _, k := range s.PreviousKeys {
		ns = append(ns, VaultNeed{p("verify", k), "update", "to check older manifests' signatures (previous_keys)"})
	}
	return ns
}

// VaultNeeds lists what an encrypted backup's jobs need of Transit: a
// data key per backup, a signature per manifest, signature checks
// (retention, listings, drills), and with drills the data key unwrapped.
func (e *Encryption) VaultNeeds(drills bool) []VaultNeed {
	if e == nil {
		return nil
	}
	p := func(op, key string) string { return e.Mount + "/" + op + "/" + key }
	ns := []VaultNeed{{p("datakey/plaintext", e.Key), "update", "to get each backup's data key"}}
	signer := e.Key
	if e.SignKey != "" {
		signer = e.SignKey
		ns = append(ns, VaultNeed{p("sign", signer), "update", "to sign each manifest"})
	} else {
		ns = append(ns, VaultNeed{p("hmac", signer), "update", "to sign each manifest (HMAC)"})
	}
	ns = append(ns, VaultNeed{p("verify", signer), "update", "to check manifests' signatures"})
	if drills {
		ns = append(ns, VaultNeed{p("decrypt", e.Key), "update", "to unwrap the data key a drill decrypts with"})
	}
	for _, k := range e.PreviousKeys {
		ns = append(ns, VaultNeed{p("verify", k), "update", "to check older manifests' signatures (previous_keys)"})
		if drills {
			ns = append(ns, VaultNeed{p("decrypt", k), "update", "to unwrap older backups' data keys (previous_keys)"})
		}
	}
	return ns
}
