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
	case CredVaultConsul, CredVaultNomad, CredVaultDatabase:
		what := map[string]string{CredVaultConsul: "Consul token", CredVaultNomad: "Nomad token", CredVaultDatabase: "database user"}[source]
		return []VaultNeed{{path, "read", "to get the run's " + what},
			{LeasePath("renew", path), "update", "to renew it while the run lasts"},
			{LeasePath("revoke", path), "update", "to revoke it when the run ends"}}
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

// BackupNeeds lists what a signed backup's backup job needs of Transit: a
// signature per manifest, and signature checks (retention reads every
// manifest before it deletes).
func (s *Signing) BackupNeeds() []VaultNeed {
	if s == nil {
		return nil
	}
	op, why := "hmac", "to sign each manifest (HMAC)"
	if s.Type == "ed25519" {
		op, why = "sign", "to sign each manifest"
	}
	return append([]VaultNeed{{transitPath(s.Mount, op, s.Key), "update", why}}, s.DrillNeeds()...)
}

// DrillNeeds lists what a signed backup's drill job needs: signature
// checks only. A drill never signs.
func (s *Signing) DrillNeeds() []VaultNeed {
	if s == nil {
		return nil
	}
	return verifyNeeds(s.Mount, s.Key, s.PreviousKeys)
}

// BackupNeeds lists what an encrypted backup's backup job needs of
// Transit: a data key per backup, a signature per manifest, and signature
// checks (retention). A backup job never decrypts: a drill it runs itself
// (verify { after_backup = true }) uses the data key it made.
func (e *Encryption) BackupNeeds() []VaultNeed {
	if e == nil {
		return nil
	}
	ns := []VaultNeed{{transitPath(e.Mount, "datakey/plaintext", e.Key), "update", "to get each backup's data key"}}
	if e.SignKey != "" {
		ns = append(ns, VaultNeed{transitPath(e.Mount, "sign", e.SignKey), "update", "to sign each manifest"})
	} else {
		ns = append(ns, VaultNeed{transitPath(e.Mount, "hmac", e.Key), "update", "to sign each manifest (HMAC)"})
	}
	return append(ns, verifyNeeds(e.Mount, e.signer(), e.PreviousKeys)...)
}

// DrillNeeds lists what an encrypted backup's drill job needs: signature
// checks and the data key unwrapped, for the current key and the
// previous ones. A drill never gets a data key or signs.
func (e *Encryption) DrillNeeds() []VaultNeed {
	if e == nil {
		return nil
	}
	ns := verifyNeeds(e.Mount, e.signer(), e.PreviousKeys)
	ns = append(ns, VaultNeed{transitPath(e.Mount, "decrypt", e.Key), "update", "to unwrap the data key a drill decrypts with"})
	for _, k := range e.PreviousKeys {
		ns = append(ns, VaultNeed{transitPath(e.Mount, "decrypt", k), "update", "to unwrap older backups' data keys (previous_keys)"})
	}
	return ns
}

// signer is the Transit key manifests are signed with.
func (e *Encryption) signer() string {
	if e.SignKey != "" {
		return e.SignKey
	}
	return e.Key
}

func transitPath(mount, op, key string) string { return mount + "/" + op + "/" + key }

// verifyNeeds are the signature checks of key and of previous keys.
func verifyNeeds(mount, key string, previous []string) []VaultNeed {
	ns := []VaultNeed{{transitPath(mount, "verify", key), "update", "to check manifests' signatures"}}
	for _, k := range previous {
		ns = append(ns, VaultNeed{transitPath(mount, "verify", k), "update", "to check older manifests' signatures (previous_keys)"})
	}
	return ns
}
