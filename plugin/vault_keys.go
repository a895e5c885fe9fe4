package plugin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// ReadKeysFile reads unseal or recovery keys: `vault operator init
// -format=json` output (unseal_keys_b64, recovery_keys_b64), or one key
// per line. The keys never enter an error.
func ReadKeysFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: keys file %s: %w", path, err)
	}
	var init struct {
		Unseal   []string `json:"unseal_keys_b64"`
		Recovery []string `json:"recovery_keys_b64"`
		Keys     []string `json:"keys_base64"`
	}
	var keys []string
	if json.Unmarshal(b, &init) == nil {
		keys = append(append(append(keys, init.Unseal...), init.Recovery...), init.Keys...)
	} else {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("vault: keys file %s holds no key (one per line, or vault operator init -format=json output)", path)
	}
	return keys, nil
}

// InitVault initialises a new Vault with one key share (or, for an
// auto-unsealed one, one recovery share) and unseals it.
func InitVault(ctx context.Context, c *vault.Client, autoUnseal bool) (*vault.InitResponse, error) {
	req := &vault.InitRequest{SecretShares: 1, SecretThreshold: 1}
	if autoUnseal {
		req = &vault.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}
	}
	init, err := c.Sys().InitWithContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("vault: init: %w", err)
	}
	if !autoUnseal {
		if err := Unseal(ctx, c, init.KeysB64); err != nil {
			return nil, err
		}
	}
	return init, WaitActive(ctx, c)
}

// Unseal gives keys until the node is unsealed.
func Unseal(ctx context.Context, c *vault.Client, keys []string) error {
	for _, k := range keys {
		st, err := c.Sys().UnsealWithContext(ctx, k)
		if err != nil {
			return fmt.Errorf("vault: unseal: %w", err)
		}
		if !st.Sealed {
			return nil
		}
	}
	return errors.New("vault: unseal: still sealed after every key given (not this cluster's keys, or too few)")
}

// WaitActive waits until the node is unsealed and active.
func WaitActive(ctx context.Context, c *vault.Client) error {
	var last error
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		switch {
		case err != nil:
			last = err
		case h.Initialized && !h.Sealed && !h.Standby:
			return nil
		default:
			last = fmt.Errorf("initialized %v, sealed %v, standby %v", h.Initialized, h.Sealed, h.Standby)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vault: not active: %v (%w)", last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RootToken generates a root token with unseal (or recovery) keys, as
// `vault operator generate-root` does: a one-time pad, a key per step, the
// encoded token XORed with the pad. A drill uses it on its own scratch copy
// and stops the server after, which is the token's end.
func RootToken(ctx context.Context, c *vault.Client, keys []string) (string, error) {
	st, err := c.Sys().GenerateRootStatusWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("vault: generate-root status: %w", err)
	}
	otp, err := oneTimePad(st.OTPLength)
	if err != nil {
		return "", err
	}
	st, err = c.Sys().GenerateRootInitWithContext(ctx, otp, "")
	if err != nil {
		return "", fmt.Errorf("vault: generate-root init: %w", err)
	}
	for _, k := range keys {
		st, err = c.Sys().GenerateRootUpdateWithContext(ctx, k, st.Nonce)
		if err != nil {
			return "", fmt.Errorf("vault: generate-root: %w", err)
		}
		if st.Complete {
			return decodeRoot(st.EncodedToken, otp)
		}
	}
	_ = c.Sys().GenerateRootCancelWithContext(ctx)
	return "", errors.New("vault: generate-root: not complete after every key given (not this cluster's keys, or too few)")
}

func oneTimePad(n int) (string, error) {
	if n <= 0 {
		n = 28
	}
	// base62, as Vault's own OTPs.
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

func decodeRoot(encoded, otp string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(encoded, "="))
	if err != nil {
		return "", fmt.Errorf("vault: generate-root: the encoded token is not base64: %w", err)
	}
	if len(raw) != len(otp) {
		return "", fmt.Errorf("vault: generate-root: token and pad lengths differ (%d, %d)", len(raw), len(otp))
	}
	out := make([]byte, len(raw))
	for i := range raw {
		out[i] = raw[i] ^ otp[i]
	}
	return string(out), nil
}
