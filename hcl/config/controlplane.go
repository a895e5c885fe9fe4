package config

import "time"

// NomadSource is the Nomad cluster a nomad_snapshot backup reads. Empty
// fields leave NOMAD_ADDR, NOMAD_REGION and the TLS variables in charge.
type NomadSource struct {
	Address string `json:"address,omitempty"`
	Region  string `json:"region,omitempty"`
	// Stale lets any server answer instead of the leader.
	Stale bool               `json:"stale,omitempty"`
	TLS   *TLS               `json:"tls,omitempty"`
	Creds *TargetCredentials `json:"credentials,omitempty"`
}

// VaultSource is the Vault cluster (integrated storage) a vault_raft
// backup reads. The token is the run's own Vault token, whose policy
// vigil setup writes; empty fields leave VAULT_ADDR and the TLS variables
// in charge.
type VaultSource struct {
	Address string `json:"address,omitempty"`
	TLS     *TLS   `json:"tls,omitempty"`
}

// NomadObject names a job or a variable a Nomad drill requires.
type NomadObject struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// VaultDrill is what a vault_raft drill needs beyond the offline checks:
// how the restored data can be unsealed (the production cluster's unseal
// keys, or its transit seal with recovery keys), and what must exist.
// Without either way to unseal, the drill checks the archive only.
type VaultDrill struct {
	// UnsealKeysFile holds the production cluster's unseal keys: one per
	// line, or `vault operator init -format=json` output.
	UnsealKeysFile string `json:"unseal_keys_file,omitempty"`
	// Transit is the production cluster's transit seal; the scratch
	// server uses it, and RecoveryKeysFile gives the recovery keys.
	Transit          *TransitSeal `json:"transit,omitempty"`
	RecoveryKeysFile string       `json:"recovery_keys_file,omitempty"`
	Mounts           []string     `json:"mounts,omitempty"`
	Secrets          []string     `json:"secrets,omitempty"`
}

// Unseals reports whether the drill can unseal a restored copy.
func (d *VaultDrill) Unseals() bool {
	return d != nil && (d.UnsealKeysFile != "" || d.Transit != nil)
}

// TransitSeal mirrors Vault's seal "transit" stanza. Its token comes from
// VAULT_TRANSIT_SEAL_TOKEN in the drill's environment (VAULT_TOKEN there
// is the run's own), and the scratch server gets it as its VAULT_TOKEN.
type TransitSeal struct {
	Address   string `json:"address"`
	KeyName   string `json:"key_name"`
	MountPath string `json:"mount_path"`
	Namespace string `json:"namespace,omitempty"`
	TLS       *TLS   `json:"tls,omitempty"`
}

// Encryption is envelope encryption with Vault's Transit engine: each
// backup's data key comes from transit/datakey, wrapped by Key, and each
// manifest is signed (an HMAC with Key, or with SignKey an ed25519
// signature).
type Encryption struct {
	Mount   string `json:"mount"`
	Key     string `json:"key"`
	SignKey string `json:"sign_key,omitempty"`
	// PreviousKeys are Transit keys that wrapped data keys or signed
	// manifests before (a renamed key, the encryption key before sign_key
	// was added): their backups still read and verify.
	PreviousKeys []string `json:"previous_keys,omitempty"`
}

// Signing is authenticity without encryption: each manifest is signed
// with a Vault Transit key (an HMAC, or an ed25519 signature with Type
// "ed25519"), and checked before anything trusts it.
type Signing struct {
	Mount string `json:"mount"`
	Key   string `json:"key"`
	// Type is "hmac" or "ed25519".
	Type         string   `json:"type"`
	PreviousKeys []string `json:"previous_keys,omitempty"`
}

// Keys is the signing as the keyring of an encryption without a data
// key: the HMAC key, or the ed25519 key as its sign key.
func (s *Signing) Keys() Encryption {
	e := Encryption{Mount: s.Mount, PreviousKeys: s.PreviousKeys}
	if s.Type == "ed25519" {
		e.SignKey = s.Key
	} else {
		e.Key = s.Key
	}
	return e
}

// ObjectLock is S3 Object Lock: every object and manifest is written with
// a retain-until date Retain ahead, which the store enforces.
type ObjectLock struct {
	// Mode is GOVERNANCE or COMPLIANCE.
	Mode   string        `json:"mode"`
	Retain time.Duration `json:"retain"`
}
