package envelope

import (
	"context"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// transitVerify answers transit/verify/<key>: valid when the signature
// or HMAC is "ok:<key>", and remembers which keys it was asked.
type transitVerify struct{ asked []string }

func (v *transitVerify) ReadWithContext(context.Context, string) (*vault.Secret, error) {
	return nil, nil
}

func (v *transitVerify) WriteWithContext(_ context.Context, path string, data map[string]any) (*vault.Secret, error) {
	key := path[strings.LastIndex(path, "/")+1:]
	v.asked = append(v.asked, path)
	got, _ := data["hmac"].(string)
	if s, ok := data["signature"].(string); ok {
		got = s
	}
	return &vault.Secret{Data: map[string]any{"valid": got == "ok:"+key}}, nil
}

// A manifest signed by a key the spec lists in previous_keys verifies
// with its own kind of signature (a renamed key; the encryption key's
// HMAC from before sign_key); any other key is refused without asking
// Vault, and a previous key's bad signature still fails.
func TestPreviousKeysVerify(t *testing.T) {
	ctx := context.Background()
	v := &transitVerify{}
	k := New(v, config.Encryption{Mount: "transit", Key: "backups-2027", SignKey: "manifests", PreviousKeys: []string{"backups"}})
	cases := []struct {
		sig  Signature
		want string // "" holds; else part of why not
	}{
		{Signature{Type: SignEd25519, Key: "manifests", Value: "ok:manifests"}, ""},
		{Signature{Type: SignHMAC, Key: "backups", Value: "ok:backups"}, ""},           // before sign_key, under the old name
		{Signature{Type: SignHMAC, Key: "backups", Value: "forged"}, "does not match"}, // a previous key does not excuse a bad signature
		{Signature{Type: SignHMAC, Key: "other", Value: "ok:other"}, "not transit-ed25519 manifests"},
		{Signature{Type: SignHMAC, Key: "backups-2027", Value: "ok:backups-2027"}, "not transit-ed25519 manifests"},
	}
	for _, c := range cases {
		why, err := k.Verify(ctx, []byte("payload"), &c.sig)
		if err != nil {
			t.Fatal(err)
		}
		if (c.want == "") != (why == "") || !strings.Contains(why, c.want) {
			t.Errorf("%s %s: %q, want %q", c.sig.Type, c.sig.Key, why, c.want)
		}
	}
	for _, p := range v.asked {
		if strings.HasSuffix(p, "/other") || strings.HasSuffix(p, "/backups-2027") {
			t.Errorf("Vault was asked about a key the spec does not list: %s", p)
		}
	}
	// Signing alone (no encryption): an ed25519 key.
	s := New(v, (&config.Signing{Mount: "transit", Key: "manifests", Type: "ed25519"}).Keys())
	if why, _ := s.Verify(ctx, []byte("p"), &Signature{Type: SignEd25519, Key: "manifests", Value: "ok:manifests"}); why != "" {
		t.Errorf("signing alone: %s", why)
	}
	if why, _ := s.Verify(ctx, []byte("p"), nil); !strings.Contains(why, "not signed") {
		t.Errorf("an unsigned manifest under signing: %q", why)
	}
}
