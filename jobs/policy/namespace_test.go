package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/jobs"
)

// TestNoJWTRoleCrossesNamespaces: with the examples spread over two
// namespaces, vigil setup -json gives one JWT role per job, each bound to
// one namespace and one job ID of that namespace, so no role's claims
// accept a job ID of one namespace from the other: a job registered in
// dev under the name of a default backup gets no role. The compiled jobs
// log in with their own role.
func TestNoJWTRoleCrossesNamespaces(t *testing.T) {
	cfg := load(t, "../../examples")
	moved := cfg.Backups[0].Name
	cfg.Backups[0].Nomad.Namespace = "dev"
	ids := jobs.IDsByNamespace(cfg)
	if len(ids) != 2 {
		t.Fatalf("namespaces: %v", ids)
	}
	// What vigil setup -json prints, read back as an operator's tool would.
	b, _ := json.Marshal(Make(cfg, DefaultOptions))
	var out struct {
		VaultObjects []struct {
			Path string `json:"path"`
			Data struct {
				BoundClaims map[string][]string `json:"bound_claims"`
			} `json:"data"`
		} `json:"vault_objects"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	roleOf := map[string]string{} // job ID -> role path
	for _, o := range out.VaultObjects {
		if !strings.HasPrefix(o.Path, "auth/"+DefaultOptions.VaultJWTMount+"/role/") {
			continue
		}
		nss, idsBound := o.Data.BoundClaims["nomad_namespace"], o.Data.BoundClaims["nomad_job_id"]
		if len(nss) != 1 || len(idsBound) != 1 {
			t.Errorf("%s binds namespaces %v and job IDs %v: each claim is matched on its own, so the lists pair freely", o.Path, nss, idsBound)
			continue
		}
		if !contains(ids[nss[0]], idsBound[0]) {
			t.Errorf("%s (namespace %s) accepts job ID %s of another namespace", o.Path, nss[0], idsBound[0])
		}
		roleOf[nss[0]+"/"+idsBound[0]] = o.Path
	}
	// The dev impostor: a job in dev named like a default backup.
	for _, id := range ids["default"] {
		if r, ok := roleOf["dev/"+id]; ok {
			t.Errorf("a dev job named %s logs in with %s", id, r)
		}
	}
	// One role per job but serve, which has no credential source.
	want := 0
	for _, j := range jobs.Identities(cfg) {
		if j.Kind != jobs.KindServe {
			want++
		} else if _, ok := roleOf[j.Namespace+"/"+j.JobID]; ok {
			t.Errorf("the serve job %s has a Vault role", j.JobID)
		}
	}
	if len(roleOf) != want {
		t.Errorf("%d JWT roles, want one per job (%d)", len(roleOf), want)
	}
	// The jobs log in with their own role.
	for i := range cfg.Backups {
		cfg.Backups[i].Nomad.VaultEnabled, cfg.Backups[i].Nomad.VaultRole = true, Name(cfg)
	}
	js, err := jobs.Compile(cfg, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		ns := "default"
		if j.Namespace != nil {
			ns = jobs.Namespace(*j.Namespace)
		}
		for _, tg := range j.TaskGroups {
			for _, task := range tg.Tasks {
				if task.Vault == nil {
					continue
				}
				if want := "auth/jwt-nomad/role/" + task.Vault.Role; roleOf[ns+"/"+*j.ID] != want {
					t.Errorf("job %s in %s logs in with role %s, but setup binds it to %q", *j.ID, ns, task.Vault.Role, roleOf[ns+"/"+*j.ID])
				}
			}
		}
		if *j.ID == jobs.BackupPrefix+moved && ns != "dev" {
			t.Errorf("%s is in %s", *j.ID, ns)
		}
	}
}
