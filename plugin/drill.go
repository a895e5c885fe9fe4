package plugin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
)

// keyReader is what key assertions need from a restored scratch server.
type keyReader interface {
	// count returns the number of keys under prefix ("" for all).
	count(ctx context.Context, prefix string) (int, error)
	// get returns a key's value and whether it exists.
	get(ctx context.Context, key string) ([]byte, bool, error)
}

// assertKeys runs the key assertions of a verify block (min_keys, key,
// prefix) against a restored server. Values are never put in details:
// KV values may be secrets.
func assertKeys(ctx context.Context, kr keyReader, v *config.Verify) (*VerifyResult, error) {
	total, err := kr.count(ctx, "")
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Values: map[string]any{"keys_restored": total}}
	expect := ""
	if v.MinKeys > 0 {
		expect = fmt.Sprintf(", expected ≥ %s", thousands(v.MinKeys))
		res.Checks = append(res.Checks, Check{
			Name:   fmt.Sprintf("min_keys %d", v.MinKeys),
			Passed: total >= v.MinKeys,
			Detail: fmt.Sprintf("restored %s keys%s", thousands(total), expect),
		})
	}
	for _, k := range v.Keys {
		val, ok, err := kr.get(ctx, k.Key)
		if err != nil {
			return nil, err
		}
		c := Check{Name: "key " + k.Key, Passed: ok, Detail: fmt.Sprintf("key %s present", k.Key)}
		switch {
		case !ok:
			c.Detail = fmt.Sprintf("key %s missing (restored %s keys%s)", k.Key, thousands(total), expect)
		case k.Value != nil && string(val) != *k.Value:
			c.Passed = false
			c.Detail = fmt.Sprintf("key %s holds a different value than the spec expects (%d bytes)", k.Key, len(val))
		}
		res.Checks = append(res.Checks, c)
	}
	for _, p := range v.Prefixes {
		n, err := kr.count(ctx, p.Prefix)
		if err != nil {
			return nil, err
		}
		res.Values["prefix."+p.Prefix] = n
		res.Checks = append(res.Checks, Check{
			Name:   fmt.Sprintf("prefix %s min_keys %d", p.Prefix, p.MinKeys),
			Passed: n >= p.MinKeys,
			Detail: fmt.Sprintf("prefix %s has %s keys, expected ≥ %s", p.Prefix, thousands(n), thousands(p.MinKeys)),
		})
	}
	return res, nil
}

// thousands writes 1204 as "1,204".
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// scratchBinary finds a scratch server's binary: the spec's path (a bare
// name is looked up on PATH, as a shell would), then the folder Nomad
// fetched the scratch artifact into, then PATH.
func scratchBinary(name, explicit string) (string, error) {
	if explicit != "" && !strings.Contains(explicit, "/") {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("drill: %s binary %q is not on PATH: give its full path in verify { scratch { %s = \"/path\" } }", name, explicit, name)
		}
		return p, nil
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("drill: %s binary %s: %w", name, explicit, err)
		}
		return explicit, nil
	}
	if dir := os.Getenv("NOMAD_TASK_DIR"); dir != "" {
		p := filepath.Join(dir, "scratch", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("drill: no %s binary for the scratch server: set verify { scratch { %s = \"/path\" } }, fetch it with scratch { artifact = ... }, or put it on PATH", name, name)
	}
	return p, nil
}

func scratchOf(o VerifyOptions) config.Scratch {
	if o.Scratch == nil {
		return config.Scratch{}
	}
	return *o.Scratch
}
