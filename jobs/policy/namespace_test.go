package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/jobs"
)

// TestNoJWTRoleCrossesNamespaces: with the examples spread over two
// namespaces, vigil setup -json gives one JWT role per namespace, and no
// role's claims accept a job ID of one namespace from the other: a job
// registered in dev under the name of a default backup gets no role.
// The compiled jobs log in with their own namespace's role.
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
	roles := 0
	for _, o := range out.VaultObjects {
		if !strings.HasPrefix(o.Path, "auth/"+DefaultOptions.VaultJWTMount+"/role/") {
			continue
		}
		roles++
		nss := o.Data.BoundClaims["nomad_namespace"]
		if len(nss) != 1 {
			t.Errorf("%s binds %d namespaces %v: its job IDs pair with either", o.Path, len(nss), nss)
			continue
		}
		own := map[string]bool{}
		for _, id := range ids[nss[0]] {
			own[id] = true
		}
		for _, id := range o.Data.BoundClaims["nomad_job_id"] {
			if !own[id] {
				t.Errorf("%s (namespace %s) accepts job ID %s of another namespace", o.Path, nss[0], id)
			}
		}
		if nss[0] == "dev" && !strings.HasSuffix(o.Path, "/vigil-"+cfg.ID+"-dev") {
			t.Errorf("the dev role is %s", o.Path)
		}
	}
	if roles != 2 {
		t.Errorf("%d JWT roles, want one per namespace", roles)
	}
	// The jobs use their namespace's role.
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
				if want := Name(cfg) + "-" + ns; task.Vault.Role != want {
					t.Errorf("job %s in %s logs in with role %s, want %s", *j.ID, ns, task.Vault.Role, want)
				}
			}
		}
		if *j.ID == jobs.BackupPrefix+moved && ns != "dev" {
			t.Errorf("%s is in %s", *j.ID, ns)
		}
	}
}
