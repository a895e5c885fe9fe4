//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin"
	"github.com/vigil-backup/vigil/plugin/scratch"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

// transit is the encryption block of a backup: the harness's Transit key,
// and with sign, manifests signed by its ed25519 key instead of an HMAC.
func transit(key string, sign bool) string {
	s := ""
	if sign {
		s = fmt.Sprintf("\n      sign_key = %q", harness.TransitSignKey)
	}
	return fmt.Sprintf("encryption {\n    vault_transit {\n      key = %q%s\n    }\n  }", key, s)
}

// putManifestBytes replaces a manifest in the bucket (as someone with
// write access to it could).
func putManifestBytes(t *testing.T, ctx context.Context, key string, b []byte) {
	t.Helper()
	if _, err := stack.MinIO.RootClient().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.MinIO.Bucket), Key: aws.String(key), Body: bytes.NewReader(b),
	}); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptedBackupsOfEveryType: every type, encrypted with a data key
// from Transit: the stored object holds none of the data in clear, the
// manifest records the wrapped key and both sums and is signed, the drill
// passes, and a restore brings the data back.
func TestEncryptedBackupsOfEveryType(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Transit")
	}
	ctx := testContext(t, 10*time.Minute)
	seedData(t, ctx)
	nc, _ := stack.Nomad.Client()
	if _, _, err := nc.Variables().Create(&nomad.Variable{Path: "enc/marker", Items: nomad.VariableItems{"k": "v"}}, nil); err != nil {
		t.Fatal(err)
	}
	key := harness.TransitKey
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "enc-kv" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  %[2]s
  verify {
    prefix "service/" { min_keys = 4 }
    scratch { consul = %[8]q }
  }
}

backup "consul_snapshot" "enc-snap" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[3]s
  %[2]s
  verify {
    key "service/web/config" {}
    scratch { consul = %[8]q }
  }
}

backup "etcd" "enc-etcd" {
  schedule    = "0 * * * *"
  storage     = storage.s3.sts
  compression = "none"
  %[4]s
  %[9]s
  verify {
    prefix "/registry/pods/" { min_keys = 50 }
    scratch {
      etcd    = %[10]q
      etcdutl = %[11]q
    }
  }
}

backup "elasticsearch" "enc-es" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  elasticsearch {
    url        = %[5]q
    repository = "repo-enc"
    indices    = ["logs-*"]
    repository_settings {
      type     = "fs"
      location = "/mnt/es-backups"
    }
    %[12]s
  }
  %[2]s
  verify {
    index "logs-*" { min_docs = 1 }
  }
}

backup "nomad_snapshot" "enc-nomad" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[6]s
  %[2]s
  verify {
    variable "enc/marker" {}
    scratch { nomad = %[13]q }
  }
}

backup "vault_raft" "enc-vault" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[7]s
  %[2]s
  verify {
    unseal_keys_file = %[14]q
    secret "secret/data/canary" {}
    scratch { vault = %[15]q }
  }
}`, consulSource(t, stack.Consul.URL(), "service/"), transit(key, false), consulSource(t, stack.Consul.URL(), ""),
		etcdSource(t, stack.Etcd.Endpoint), stack.ES.URL, nomadSource(t, stack.Nomad.URL()), vaultSource(stack.Vault.URL()),
		tool("consul"), transit(key, true), tool("etcd"), tool("etcdutl"), esCredentials(), tool("nomad"), stack.Vault.UnsealKeysFile, tool("vault")))

	plainMarkers := map[string]string{"enc-kv": "service/web/config", "enc-etcd": "/registry/pods/default/pod-"}
	for _, name := range []string{"enc-kv", "enc-snap", "enc-etcd", "enc-es", "enc-nomad", "enc-vault"} {
		if r := vigil(t, "", "run", "-config", dir, "-backup", name); r.code != 0 {
			t.Fatalf("%s: %s", name, r)
		}
		m, data := latestManifest(t, ctx, prefix, name)
		e := m.Encryption
		// The stored bytes carry a CRC32C (latestManifest checked it); the
		// AEAD and the plaintext's sha256 prove them.
		if e == nil || !strings.HasPrefix(e.WrappedKey, "vault:v") || e.Key != key || m.SHA256 != "" || len(m.CRC32C) != 8 || len(e.PlainSHA256) != 64 || m.Signature == nil {
			t.Fatalf("%s: manifest %+v", name, m)
		}
		if want := map[bool]string{true: "transit-ed25519", false: "transit-hmac"}[name == "enc-etcd"]; m.Signature.Type != want {
			t.Errorf("%s: signed with %s, want %s", name, m.Signature.Type, want)
		}
		if marker := plainMarkers[name]; marker != "" && bytes.Contains(data, []byte(marker)) {
			t.Errorf("%s: the stored object holds %q in clear", name, marker)
		}
		if r := vigil(t, "", "verify", "-config", dir, "-backup", name); r.code != 0 {
			t.Errorf("drill of %s: %s", name, r)
		}
	}

	// Restores.
	fresh := freshConsul(t, ctx, "enc-kv-restore")
	if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "enc-kv", "-to", fresh.URL()); r.code != 0 {
		t.Fatalf("restore enc-kv: %s", r)
	}
	if want, got := kvMap(t, stack.Consul, "service/"), kvMap(t, fresh, "service/"); fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("restored KV differs: %v vs %v", got, want)
	}
	db := filepath.Join(t.TempDir(), "enc.db")
	if r := vigil(t, "", "restore", "-config", dir, "-backup", "enc-etcd", "-out", db); r.code != 0 {
		t.Fatalf("restore enc-etcd: %s", r)
	}
	if out, err := toolCmd(t, "etcdutl", os.Environ(), "snapshot", "status", db, "-w", "json"); err != nil || !strings.Contains(out, "totalKey") {
		t.Errorf("etcdutl snapshot status of the restored db: %v\n%s", err, out)
	}
	p, addr, err := scratch.NomadServer(ctx, tool("nomad"), t.TempDir(), "enc-nomad-restore", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	if r := vigil(t, "", "restore", "-auto-approve", "-config", dir, "-backup", "enc-nomad", "-to", "http://"+addr); r.code != 0 {
		t.Fatalf("restore enc-nomad: %s", r)
	}
	fc, _ := nomad.NewClient(&nomad.Config{Address: "http://" + addr, Region: "global"})
	fc.SetSecretID("")
	if vs, _, err := fc.Variables().PrefixList("enc/marker", nil); err != nil || len(vs) != 1 {
		t.Errorf("the restored Nomad lacks the variable: %v %v", vs, err)
	}
	// The Vault restore: VAULT_TOKEN is the one Transit decrypts with;
	// the fresh cluster's token comes from a file.
	vp, api, err := scratch.VaultRaft(ctx, tool("vault"), t.TempDir(), "enc-vault-restore", scratch.VaultOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer vp.Stop(10 * time.Second)
	vc, _ := vault.NewClient(&vault.Config{Address: api})
	vc.ClearToken()
	init, err := plugin.InitVault(ctx, vc, false)
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(init.RootToken), 0o600)
	if r := vigil(t, "", "restore", "-auto-approve", "-force", "-to-token-file", tokFile, "-config", dir, "-backup", "enc-vault", "-to", api); r.code != 0 {
		t.Fatalf("restore enc-vault: %s", r)
	}
	esArgs := []string{"restore", "-config", dir, "-backup", "enc-es", "-rename-pattern", "logs-(.+)", "-rename-replacement", "enc-$1"}
	// A restore uses the operator's own Elasticsearch credentials.
	if r := vigilEnv(t, append(envFor("", esArgs), "ES_USERNAME="+stack.ESUser, "ES_PASSWORD="+stack.ESPassword), esArgs...); r.code != 0 {
		t.Fatalf("restore enc-es: %s", r)
	}
}

// TestTamperedManifestsAreRefused: manifests of an encrypted backup are
// signed; one edited in the bucket (its size, sha256 or wrapped key), or
// one copied from another backup and renamed, is not a backup: list shows
// it as tampered, -latest skips it, restore and drills refuse it, and
// retention leaves it alone. A token that may not decrypt gets an error
// naming the key and the path.
func TestTamperedManifestsAreRefused(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Transit")
	}
	ctx := testContext(t, 5*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("tamper/a", "1"), nil)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "tamper" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  %[2]s
  verify {
    min_keys = 1
    scratch { consul = %[3]q }
  }
}

backup "consul_kv" "tamper-other" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %[1]s
  %[2]s
}`, consulSource(t, stack.Consul.URL(), "tamper/"), transit(harness.TransitKey, false), tool("consul")))
	for _, name := range []string{"tamper", "tamper", "tamper-other"} {
		if r := vigil(t, "", "run", "-config", dir, "-backup", name); r.code != 0 {
			t.Fatalf("%s: %s", name, r)
		}
		time.Sleep(5 * time.Millisecond) // distinct IDs
	}
	keys := manifests(t, ctx, prefix, "tamper")
	if len(keys) != 2 {
		t.Fatalf("manifests: %v", keys)
	}
	newest := keys[len(keys)-1]
	orig := getObject(t, ctx, newest)
	var m manifest.Manifest
	json.Unmarshal(orig, &m)
	other, _ := latestManifest(t, ctx, prefix, "tamper-other")

	cases := map[string]func(m *manifest.Manifest){
		"size":        func(m *manifest.Manifest) { m.Size++ },
		"crc32c":      func(m *manifest.Manifest) { m.CRC32C = "00000000" },
		"wrapped key": func(m *manifest.Manifest) { m.Encryption.WrappedKey = other.Encryption.WrappedKey },
		// The other backup's manifest, renamed to pass for this one.
		"copied": func(m *manifest.Manifest) {
			c := *other
			c.Backup, c.ID, c.Object = m.Backup, m.ID, m.Object
			*m = c
		},
	}
	for name, edit := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var mm manifest.Manifest
			json.Unmarshal(orig, &mm)
			edit(&mm)
			b, _ := mm.Encode()
			putManifestBytes(t, ctx, newest, b)
			defer putManifestBytes(t, ctx, newest, orig)

			r := vigil(t, "", "list", "-config", dir, "-backup", "tamper")
			if r.code != 0 || !strings.Contains(r.stdout, "TAMPERED") || !strings.Contains(r.stdout, "signature does not match") {
				t.Fatalf("list: %s", r)
			}
			if strings.Count(r.stdout, "\n") != 3 { // header, the good older one, the tampered one
				t.Errorf("list should show one good backup and the tampered one: %s", r)
			}
			if r := vigil(t, "", "verify", "-config", dir, "-backup", "tamper", "-id", mm.ID); r.code != 1 || !strings.Contains(r.stderr, "tampered") {
				t.Errorf("drill of the tampered manifest: %s", r)
			}
			// -latest skips it: the older, good one is drilled.
			if r := vigil(t, "", "verify", "-config", dir, "-backup", "tamper"); r.code != 0 || strings.Contains(r.stdout, mm.ID) {
				t.Errorf("drill of -latest: %s", r)
			}
			fresh := freshConsul(t, ctx, "tamper-restore-"+strings.ReplaceAll(name, " ", "-"))
			if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "tamper", "-id", mm.ID, "-to", fresh.URL()); r.code != 1 || !strings.Contains(r.stderr, "tampered") {
				t.Errorf("restore of the tampered manifest: %s", r)
			}
			if r := vigil(t, "", "prune", "-dry-run", "-config", dir, "-backup", "tamper"); r.code != 0 || strings.Contains(r.stdout, "delete  "+mm.ID) {
				t.Errorf("retention would delete the tampered backup: %s", r)
			}
		})
	}

	// Someone who may sign (a Transit token) but holds no data key flips a
	// byte of the ciphertext and makes the manifest match it: the
	// signature holds, the CRC32C holds, and the segment does not
	// authenticate.
	t.Run("ciphertext_flipped_and_resigned", func(t *testing.T) {
		var mm manifest.Manifest
		json.Unmarshal(orig, &mm)
		data := getObject(t, ctx, prefix+mm.Object)
		defer putManifestBytes(t, ctx, prefix+mm.Object, data)
		defer putManifestBytes(t, ctx, newest, orig)
		bad := append([]byte(nil), data...)
		bad[len(bad)/2] ^= 1
		putManifestBytes(t, ctx, prefix+mm.Object, bad)
		mm.CRC32C = strings.TrimPrefix(objectChecksum(bad, &mm), "crc32c:")
		payload, _ := mm.SignedBytes()
		root, _ := stack.Vault.Root()
		sig, err := envelope.New(root.Logical(), config.Encryption{Mount: "transit", Key: harness.TransitKey}).Sign(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		mm.Signature = sig
		b, _ := mm.Encode()
		putManifestBytes(t, ctx, newest, b)
		tmp := t.TempDir()
		r := vigilTmp(t, "", tmp, "verify", "-config", dir, "-backup", "tamper", "-id", mm.ID)
		if r.code != 1 || !strings.Contains(r.stderr, "decryption failed, no restore attempted") || !strings.Contains(r.stderr, "does not authenticate") {
			t.Fatalf("drill of a re-signed, altered ciphertext: %s", r)
		}
		assertNothingLeft(t, tmp)
	})

	// A token without transit/decrypt on the key: the drill's own policy
	// (drills may decrypt) with that one rule taken away.
	vc, _ := stack.Vault.Root()
	name := "vigil-" + configID(t) + "-drill-tamper"
	pol, _ := vc.Sys().GetPolicy(name)
	stripped := strings.Replace(pol, "path \"transit/decrypt/"+harness.TransitKey+"\"", "path \"transit/decrypt/nothing\"", 1)
	if stripped == pol {
		t.Fatalf("the policy has no decrypt rule to take away:\n%s", pol)
	}
	if err := vc.Sys().PutPolicy(name, stripped); err != nil {
		t.Fatal(err)
	}
	defer vc.Sys().PutPolicy(name, pol)
	limited, err := stack.Vault.EntityToken(ctx, "vigil-e2e-nodecrypt-"+configID(t), time.Hour, name)
	if err != nil {
		t.Fatal(err)
	}
	fresh := freshConsul(t, ctx, "tamper-no-decrypt")
	env := stack.Env(harness.Tokens{Vault: limited, Consul: fresh.Management})
	r := vigilEnv(t, env, "restore", "-config", dir, "-backup", "tamper", "-to", fresh.URL())
	if r.code != 1 || !strings.Contains(r.stderr, "transit/decrypt/"+harness.TransitKey) || !strings.Contains(r.stderr, "lacks") {
		t.Fatalf("restore without decrypt: %s", r)
	}
}

// TestRewrapAfterRotation: the Transit key rotates; vigil rewrap wraps
// every data key and signs every manifest with the new version without
// touching a data object; min_decryption_version goes up; the backup
// still restores.
func TestRewrapAfterRotation(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Transit")
	}
	ctx := testContext(t, 5*time.Minute)
	vc, _ := stack.Vault.Root()
	key := "rewrap-" + fmt.Sprint(time.Now().UnixNano())
	if _, err := vc.Logical().Write("transit/keys/"+key, map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatal(err)
	}
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("rewrap/a", "1"), nil)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "rewrap" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  %s
}`, consulSource(t, stack.Consul.URL(), "rewrap/"), transit(key, false)))
	if r := vigil(t, "", "run", "-config", dir, "-backup", "rewrap"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	before, data := latestManifest(t, ctx, prefix, "rewrap")
	if before.Encryption.KeyVersion != 1 {
		t.Fatalf("key version %d", before.Encryption.KeyVersion)
	}
	if _, err := vc.Logical().Write("transit/keys/"+key+"/rotate", nil); err != nil {
		t.Fatal(err)
	}
	// The operator rewraps: transit/rewrap is not the runs'.
	name := "vigil-" + configID(t)
	if err := vc.Sys().PutPolicy(name+"-rewrap", fmt.Sprintf("path \"transit/rewrap/%[1]s\" { capabilities = [\"update\"] }\npath \"transit/decrypt/%[1]s\" { capabilities = [\"update\"] }", key)); err != nil {
		t.Fatal(err)
	}
	operator, err := stack.Vault.EntityToken(ctx, "vigil-e2e-operator-"+configID(t), time.Hour, append(configVaultPolicies(t, configID(t)), name+"-rewrap")...)
	if err != nil {
		t.Fatal(err)
	}
	r := vigil(t, operator, "rewrap", "-config", dir, "-backup", "rewrap")
	if r.code != 0 || !strings.Contains(r.stdout, "1 rewrapped") {
		t.Fatalf("rewrap: %s", r)
	}
	after, data2 := latestManifest(t, ctx, prefix, "rewrap")
	if after.Encryption.KeyVersion != 2 || after.Encryption.WrappedKey == before.Encryption.WrappedKey || !bytes.Equal(data, data2) {
		t.Fatalf("after rewrap: version %d, data object changed %v", after.Encryption.KeyVersion, !bytes.Equal(data, data2))
	}
	if _, err := vc.Logical().Write("transit/keys/"+key+"/config", map[string]any{"min_decryption_version": 2}); err != nil {
		t.Fatal(err)
	}
	fresh := freshConsul(t, ctx, "rewrap-restore")
	if r := vigilEnv(t, stack.Env(harness.Tokens{Vault: operator, Consul: fresh.Management}), "restore", "-config", dir, "-backup", "rewrap", "-to", fresh.URL()); r.code != 0 {
		t.Fatalf("restore after min_decryption_version 2: %s", r)
	}
	if got := kvMap(t, fresh, "rewrap/"); !strings.HasPrefix(got["rewrap/a"], "1|") {
		t.Fatalf("restored: %v", got)
	}
	// A second rewrap has nothing to do.
	if r := vigil(t, operator, "rewrap", "-config", dir, "-all"); r.code != 0 || !strings.Contains(r.stdout, "0 rewrapped, 1 already") {
		t.Fatalf("second rewrap: %s", r)
	}
}
