package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/hcl/config"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1204: "1,204", 1234567: "1,234,567", -1204: "-1,204"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// mapKeys is a keyReader over a map, to check the assertion logic alone;
// the scratch servers themselves are exercised for real in e2e.
type mapKeys map[string]string

func (m mapKeys) count(_ context.Context, prefix string) (int, error) {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n, nil
}

func (m mapKeys) get(_ context.Context, key string) ([]byte, bool, error) {
	v, ok := m[key]
	return []byte(v), ok, nil
}

func TestAssertKeys(t *testing.T) {
	kv := mapKeys{"service/web/config": "secret-ish", "service/api/x": "1", "other": "2"}
	want := "secret-ish"
	wrong := "nope"
	v := &config.Verify{
		MinKeys:  2,
		Keys:     []config.KeyAssertion{{Key: "service/web/config", Value: &want}, {Key: "service/db/config"}, {Key: "other", Value: &wrong}},
		Prefixes: []config.PrefixAssertion{{Prefix: "service/", MinKeys: 2}, {Prefix: "missing/", MinKeys: 1}},
	}
	res, err := assertKeys(context.Background(), kv, v)
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Failed()
	if len(res.Checks) != 6 || len(failed) != 3 {
		t.Fatalf("checks %+v", res.Checks)
	}
	if failed[0].Detail != "key service/db/config missing (restored 3 keys, expected ≥ 2)" {
		t.Errorf("missing-key detail: %q", failed[0].Detail)
	}
	for _, c := range res.Checks {
		if strings.Contains(c.Detail, "secret-ish") || strings.Contains(c.Detail, "nope") {
			t.Errorf("a value leaked into a detail: %q", c.Detail)
		}
	}
	if res.Values["keys_restored"] != 3 || res.Values["prefix.service/"] != 2 {
		t.Errorf("values %v", res.Values)
	}
}
