//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRenamedTransitKey: after the spec's Transit key is renamed with the
// old one in previous_keys, the older backup is still good (not
// TAMPERED) and restores; rewrap -all moves its data key and signature
// to the new key; then previous_keys can go and it still restores.
func TestRenamedTransitKey(t *testing.T) {
	needStack(t)
	if stack.Sec == nil {
		t.Skip("the open lab has no Transit")
	}
	ctx := testContext(t, 5*time.Minute)
	vc, _ := stack.Vault.Root()
	suffix := fmt.Sprint(time.Now().UnixNano())
	oldKey, newKey := "renamed-old-"+suffix, "renamed-new-"+suffix
	for _, k := range []string{oldKey, newKey} {
		if _, err := vc.Logical().Write("transit/keys/"+k, map[string]any{"type": "aes256-gcm96"}); err != nil {
			t.Fatal(err)
		}
	}
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("renamed/a", "1"), nil)
	dir, prefix := specDir(t, fmt.Sprintf(`
backup "consul_kv" "renamed" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
  %s
}`, consulSource(t, stack.Consul.URL(), "renamed/"), transit(oldKey, false)))
	if r := vigil(t, "", "run", "-config", dir, "-backup", "renamed"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	before, _ := latestManifest(t, ctx, prefix, "renamed")
	// The operator: the runs' policy (the storage's keys come from an
	// identity token, so the token needs an entity) and the Transit paths
	// a rename needs (decrypt on the old key, encrypt and HMAC on the new).
	name := "vigil-" + configID(t)
	if err := vc.Sys().PutPolicy(name+"-rename", fmt.Sprintf(`path "transit/decrypt/%[1]s" { capabilities = ["update"] }
path "transit/verify/%[1]s" { capabilities = ["update"] }
path "transit/encrypt/%[2]s" { capabilities = ["update"] }
path "transit/hmac/%[2]s" { capabilities = ["update"] }
path "transit/verify/%[2]s" { capabilities = ["update"] }
path "transit/decrypt/%[2]s" { capabilities = ["update"] }`, oldKey, newKey)); err != nil {
		t.Fatal(err)
	}
	operator, err := stack.Vault.EntityToken(ctx, "vigil-e2e-operator-"+configID(t), time.Hour, append(configVaultPolicies(t, configID(t)), name+"-rename")...)
	if err != nil {
		t.Fatal(err)
	}
	restore := func(when string) {
		t.Helper()
		fresh := freshConsul(t, ctx, "renamed-"+when)
		env := tokensFor([]string{dir})
		env.Vault, env.Consul = operator, fresh.Management
		if r := vigilEnv(t, stack.Env(env), "restore", "-config", dir, "-backup", "renamed", "-to", fresh.URL()); r.code != 0 ||
			!strings.Contains(r.stdout, "restored renamed backup "+before.ID) {
			t.Fatalf("restore %s: %s", when, r)
		}
	}
	// Renamed, without previous_keys: the old backup is not the new key's.
	spec := readSpec(t, dir)
	writeSpec(t, dir, strings.Replace(spec, fmt.Sprintf("key = %q", oldKey), fmt.Sprintf("key = %q", newKey), 1))
	setupSpec(t, dir, configID(t))
	if r := vigil(t, "", "list", "-config", dir, "-backup", "renamed"); !strings.Contains(r.stdout, "TAMPERED") {
		t.Errorf("a renamed key without previous_keys should not verify the old manifest: %s", r)
	}
	// With previous_keys it is good again, and restores.
	writeSpec(t, dir, strings.Replace(spec, fmt.Sprintf("key = %q", oldKey), fmt.Sprintf("key = %q\n      previous_keys = [%q]", newKey, oldKey), 1))
	setupSpec(t, dir, configID(t))
	if r := vigil(t, "", "list", "-config", dir, "-backup", "renamed"); r.code != 0 || strings.Contains(r.stdout, "TAMPERED") || !strings.Contains(r.stdout, before.ID) {
		t.Fatalf("list with previous_keys: %s", r)
	}
	restore("with-previous")
	// The operator moves it to the new key.
	if r := vigil(t, operator, "rewrap", "-config", dir, "-all"); r.code != 0 || !strings.Contains(r.stdout, "1 rewrapped") {
		t.Fatalf("rewrap: %s", r)
	}
	after, _ := latestManifest(t, ctx, prefix, "renamed")
	if after.Encryption.Key != newKey || after.Signature == nil || after.Signature.Key != newKey {
		t.Fatalf("after rewrap: wrapped by %s, signed by %+v", after.Encryption.Key, after.Signature)
	}
	writeSpec(t, dir, strings.Replace(spec, fmt.Sprintf("key = %q", oldKey), fmt.Sprintf("key = %q", newKey), 1))
	setupSpec(t, dir, configID(t))
	if r := vigil(t, "", "list", "-config", dir, "-backup", "renamed"); r.code != 0 || strings.Contains(r.stdout, "TAMPERED") {
		t.Fatalf("list after rewrap without previous_keys: %s", r)
	}
	restore("after-rewrap")
}
