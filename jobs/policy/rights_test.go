package policy

import (
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/jobs"
)

// TestEachJobHoldsOnlyItsRights: in what vigil setup derives from the
// examples and the secure spec, a drill's policy never gets a data key or
// signs, a backup's never decrypts, only a vault_raft backup job reads
// Vault's raft snapshot, serve has no Vault policy or role and writes no
// record, a job writes the records of its own backup only, and a KV
// export's target policy never has a snapshot's acl = "write".
func TestEachJobHoldsOnlyItsRights(t *testing.T) {
	for _, path := range []string{"../../examples", "testdata/secure"} {
		cfg := load(t, path)
		s := Make(cfg, DefaultOptions)
		byName := map[string]map[string]Policy{} // system -> name -> policy
		for _, p := range s.Policies {
			if byName[p.System] == nil {
				byName[p.System] = map[string]Policy{}
			}
			byName[p.System][p.Name] = p
		}
		for _, j := range jobs.Identities(cfg) {
			vault := ruleTexts(byName[SystemVault][j.Name])
			control := ruleTexts(byName[SystemConsul][j.Name])
			b, _ := cfg.Backup(j.Backup)
			switch j.Kind {
			case jobs.KindDrill:
				for _, op := range []string{"/datakey/", "/hmac/", "/sign/"} {
					if strings.Contains(vault, op) {
						t.Errorf("%s: drill %s may use %s:\n%s", path, j.JobID, op, vault)
					}
				}
				if b.Encryption != nil && !strings.Contains(vault, "/decrypt/") {
					t.Errorf("%s: drill %s of an encrypted backup cannot unwrap its key", path, j.JobID)
				}
			case jobs.KindBackup:
				if strings.Contains(vault, "/decrypt/") {
					t.Errorf("%s: backup %s may decrypt:\n%s", path, j.JobID, vault)
				}
			case jobs.KindServe:
				if _, ok := byName[SystemVault][j.Name]; ok {
					t.Errorf("%s: serve has a Vault policy", path)
				}
				for _, o := range s.VaultObjects {
					if strings.HasSuffix(o.Path, "/role/"+j.Name) {
						t.Errorf("%s: serve has a Vault role %s", path, o.Path)
					}
				}
			}
			raft := strings.Contains(vault, config.VaultRaftNeed.Path)
			if want := j.Kind == jobs.KindBackup && b.Type == config.TypeVaultRaft; raft != want {
				t.Errorf("%s: %s reads the raft snapshot: %v", path, j.JobID, raft)
			}
			for _, other := range cfg.Backups {
				for _, prefix := range []string{config.RecordPrefix, config.HistoryPrefix} {
					rule := `key_prefix "` + prefix + other.Name + `/" { policy = "write" }`
					if mine := other.Name == j.Backup; strings.Contains(control, rule) != mine {
						t.Errorf("%s: %s writes %s%s/: %v", path, j.JobID, prefix, other.Name, !mine)
					}
				}
			}
		}
		for _, b := range cfg.Backups {
			target := ruleTexts(byName[SystemConsul][Name(cfg)+"-target-"+b.Name])
			if b.Type == config.TypeConsulKV && strings.Contains(target, `acl = "write"`) {
				t.Errorf("%s: KV export %s may write ACLs:\n%s", path, b.Name, target)
			}
		}
	}
}

func ruleTexts(p Policy) string {
	var b strings.Builder
	for _, r := range p.Rules {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}
