package plugin

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKeysFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, c := range []struct {
		name, body string
		want       []string
	}{
		{"init.json", `{"unseal_keys_b64":["a","b"],"unseal_keys_hex":["x"],"root_token":"hvs.secret"}`, []string{"a", "b"}},
		{"recovery.json", `{"recovery_keys_b64":["r1"]}`, []string{"r1"}},
		{"lines", "# unseal keys\nk1\n\n  k2  \n", []string{"k1", "k2"}},
	} {
		got, err := ReadKeysFile(write(c.name, c.body))
		if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v %v, want %v", c.name, got, err, c.want)
		}
	}
	_, err := ReadKeysFile(write("empty.json", `{"root_token":"hvs.secret"}`))
	if err == nil || strings.Contains(err.Error(), "hvs.secret") {
		t.Errorf("a file without keys: %v", err)
	}
}

// TestRootTokenDecode: generate-root's encoded token is the token XORed
// with the one-time pad, in unpadded base64.
func TestRootTokenDecode(t *testing.T) {
	otp, err := oneTimePad(28)
	if err != nil || len(otp) != 28 {
		t.Fatalf("pad %q %v", otp, err)
	}
	token := "hvs.ABCDEFGHIJKLMNOPQRSTUVWX"
	x := make([]byte, len(token))
	for i := range x {
		x[i] = token[i] ^ otp[i]
	}
	got, err := decodeRoot(base64.RawStdEncoding.EncodeToString(x), otp)
	if err != nil || got != token {
		t.Fatalf("decoded %q %v", got, err)
	}
	if _, err := decodeRoot(base64.RawStdEncoding.EncodeToString(x[:5]), otp); err == nil {
		t.Error("a short token decoded")
	}
}

// TestVaultArchiveSealedSums: Vault's archive ends with SHA256SUMS.sealed,
// which SHA256SUMS does not list; the check accepts it and reports it, and
// a Vault archive without it is not whole.
func TestVaultArchiveSealedSums(t *testing.T) {
	state := randomState(64 << 10)
	sealed := raftSnapshot(t, state, func(files map[string][]byte, order *[]string) {
		files["SHA256SUMS.sealed"] = []byte("sealed-bytes")
		*order = append(*order, "SHA256SUMS.sealed")
	})
	a, err := readRaftArchive(strings.NewReader(string(sealed)))
	if err != nil || !a.Sealed {
		t.Fatalf("sealed archive: %+v %v", a, err)
	}
	vr := &VaultRaft{}
	if err := vr.CheckOffline(context.Background(), strings.NewReader(string(sealed))); err != nil {
		t.Errorf("CheckOffline: %v", err)
	}
	plain := raftSnapshot(t, state, nil)
	if err := vr.CheckOffline(context.Background(), strings.NewReader(string(plain))); !errors.Is(err, ErrIncomplete) {
		t.Errorf("a Vault archive without SHA256SUMS.sealed: %v", err)
	}
	empty := raftSnapshot(t, state, func(files map[string][]byte, order *[]string) {
		files["SHA256SUMS.sealed"] = nil
		*order = append(*order, "SHA256SUMS.sealed")
	})
	if err := vr.CheckOffline(context.Background(), strings.NewReader(string(empty))); !errors.Is(err, ErrIncomplete) {
		t.Errorf("an empty SHA256SUMS.sealed: %v", err)
	}
}
