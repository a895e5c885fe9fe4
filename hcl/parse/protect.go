package parse

import (
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

var transitName = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// minInterval is the shortest gap between a cron schedule's next runs (a
// week of them at most), or 0 when it cannot tell.
func minInterval(schedule string) time.Duration {
	runs := config.NextRuns(schedule, "", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 200)
	best := time.Duration(0)
	for i := 1; i < len(runs); i++ {
		if d := runs[i].Sub(runs[i-1]); best == 0 || d < best {
			best = d
		}
	}
	return best
}

// decodeEncryption reads an encryption block: vault_transit { key, mount,
// sign_key }.
func decodeEncryption(e *evaluator, raw *rawEncryption) *config.Encryption {
	if raw == nil {
		return nil
	}
	t := raw.VaultTransit
	if t == nil {
		e.errorf(raw.DefRange, "No key source", "An encryption block needs a vault_transit { key = ... } block naming the Transit key.")
		return nil
	}
	c := &config.Encryption{Key: e.str(t.Key, ""), Mount: e.str(t.Mount, "transit"), SignKey: e.str(t.SignKey, ""),
		PreviousKeys: e.transitNames(t.PreviousKeys)}
	e.checkTransitNames(map[*hcl.Attribute]string{t.Key: c.Key, t.Mount: c.Mount, t.SignKey: c.SignKey})
	return c
}

// checkTransitNames reports values that are not Transit key or mount names.
func (e *evaluator) checkTransitNames(values map[*hcl.Attribute]string) {
	for attr, value := range values {
		if attr != nil && !transitName.MatchString(value) {
			e.errorf(attr.Expr.Range(), "Invalid Transit name", "%q is not a Transit key or mount name (letters, digits, '-', '_', '.', and '/' in a mount path).", value)
		}
	}
}

// transitNames reads a list of Transit key names (previous_keys).
func (e *evaluator) transitNames(attr *hcl.Attribute) []string {
	if attr == nil {
		return nil
	}
	var names []string
	if !e.value(attr, &names) {
		return nil
	}
	for _, n := range names {
		if !transitName.MatchString(n) {
			e.errorf(attr.Expr.Range(), "Invalid Transit name", "%q is not a Transit key name.", n)
		}
	}
	return names
}

// decodeSigning reads a signing block: vault_transit { key, mount, type,
// previous_keys }.
func decodeSigning(e *evaluator, raw *rawSigning) *config.Signing {
	if raw == nil {
		return nil
	}
	t := raw.VaultTransit
	if t == nil {
		e.errorf(raw.DefRange, "No key source", "A signing block needs a vault_transit { key = ... } block naming the Transit key.")
		return nil
	}
	s := &config.Signing{Key: e.str(t.Key, ""), Mount: e.str(t.Mount, "transit"), Type: e.enum(t.Type, "hmac", "hmac", "ed25519"),
		PreviousKeys: e.transitNames(t.PreviousKeys)}
	e.checkTransitNames(map[*hcl.Attribute]string{t.Key: s.Key, t.Mount: s.Mount})
	return s
}

// checkSigningBeside refuses a signing block beside an encryption block:
// encryption signs its manifests already.
func checkSigningBeside(e *evaluator, raw *rawSigning, enc *config.Encryption) {
	if raw != nil && enc != nil {
		e.errorf(raw.DefRange, "Signing beside encryption", "An encrypted storage's manifests are signed already (an HMAC with the encryption key, or sign_key's ed25519 signature): remove the signing block, or the encryption block for signatures alone.")
	}
}

// decodeObjectLock reads an S3 storage's object_lock { mode, retain }.
func decodeObjectLock(e *evaluator, raw *rawObjectLock) *config.ObjectLock {
	if raw == nil {
		return nil
	}
	l := &config.ObjectLock{Mode: e.enum(raw.Mode, "", "GOVERNANCE", "COMPLIANCE"), Retain: e.duration(raw.Retain, 0)}
	if raw.Retain != nil && l.Retain <= 0 {
		e.errorf(raw.Retain.Expr.Range(), "Invalid retain", "retain must be greater than zero.")
	}
	return l
}

// checkLockedRetention warns where a backup's retention wants a backup
// gone before its storage's object lock allows: retention then keeps it
// until the lock ends (and says so), which is likely not what the spec
// meant.
func checkLockedRetention(e *evaluator, b *config.Backup, rng hcl.Range) {
	lock := b.Storage.ObjectLock
	if lock == nil {
		return
	}
	r := b.Retain
	soonest := time.Duration(0)
	if r.MaxAge > 0 {
		soonest = r.MaxAge
	}
	if r.Last > 0 {
		if period := minInterval(b.Schedule); period > 0 {
			if age := time.Duration(r.Last) * period; soonest == 0 || age < soonest {
				soonest = age
			}
		}
	}
	if soonest > 0 && soonest < lock.Retain {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Retention shorter than the object lock",
			Detail: "This backup's retention lets backups go after about " + soonest.String() + ", but its storage locks every object for " + lock.Retain.String() +
				": retention keeps each backup until its lock ends, and deletes it on a later run.",
			Subject: rng.Ptr(),
		})
	}
}

// checkCircularEncryption warns when a vault_raft backup is encrypted with
// Transit on the Vault it backs up: restoring it would need the very
// cluster being restored. (Vault's snapshots are encrypted by its barrier
// already.)
func checkCircularEncryption(e *evaluator, b *config.Backup, vaultAddr string, rng hcl.Range) {
	if b.Type != config.TypeVaultRaft || b.Encryption == nil || b.VaultCluster == nil {
		return
	}
	if a := b.VaultCluster.Address; a != "" && vaultAddr != "" && a != vaultAddr {
		return
	}
	e.diags = append(e.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Vault snapshot encrypted by the Vault it backs up",
		Detail:   "This vault_raft backup is encrypted with a Transit key of the Vault it backs up: after losing that Vault, its backups cannot be decrypted. Vault's snapshots are encrypted by its barrier already: store them without encryption, and sign their manifests for authenticity with signing { vault_transit { key = NAME } } on a Transit key of another Vault (a signature that only the lost Vault could check would not help a restore either), or encrypt with a Transit key of another Vault.",
		Subject:  rng.Ptr(),
	})
}
