package envelope

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/vigil-backup/vigil/tasks/manifest"
)

// Signature kinds.
const (
	// SignHMAC is an HMAC with the Transit key itself (transit/hmac).
	SignHMAC = "transit-hmac"
	// SignEd25519 is a signature by an ed25519 Transit key (transit/sign),
	// which tokens allowed only transit/verify can check.
	SignEd25519 = "transit-ed25519"
)

// Signature is a manifest's signature as the manifest records it.
type Signature = manifest.Signature

// Sign signs payload with the keyring's signing key: an ed25519 Transit
// key when the spec names sign_key, else an HMAC with the encryption key.
func (k *Keyring) Sign(ctx context.Context, payload []byte) (*Signature, error) {
	in := map[string]any{"input": base64.StdEncoding.EncodeToString(payload)}
	if k.c.SignKey != "" {
		s, err := k.write(ctx, k.path("sign", k.c.SignKey), in)
		if err != nil {
			return nil, err
		}
		return &Signature{Type: SignEd25519, Key: k.c.SignKey, Value: str(s.Data["signature"])}, nil
	}
	s, err := k.write(ctx, k.path("hmac", k.c.Key), in)
	if err != nil {
		return nil, err
	}
	return &Signature{Type: SignHMAC, Key: k.c.Key, Value: str(s.Data["hmac"])}, nil
}

// Verify checks a signature through transit/verify. It returns "" when
// the signature holds, or why not; an error only when Vault could not be
// asked. A signature by another key than the spec's does not hold.
func (k *Keyring) Verify(ctx context.Context, payload []byte, sig *Signature) (string, error) {
	if sig == nil {
		return "the manifest is not signed, and this backup's manifests are", nil
	}
	wantType, wantKey := SignHMAC, k.c.Key
	if k.c.SignKey != "" {
		wantType, wantKey = SignEd25519, k.c.SignKey
	}
	// A key the spec lists in previous_keys signed earlier manifests (a
	// renamed key, or the encryption key's HMAC before sign_key): they
	// verify with their own kind of signature.
	previous := slices.Contains(k.c.PreviousKeys, sig.Key) && (sig.Type == SignHMAC || sig.Type == SignEd25519)
	if (sig.Type != wantType || sig.Key != wantKey) && !previous {
		return fmt.Sprintf("the manifest is signed by %s %s, not %s %s", sig.Type, sig.Key, wantType, wantKey), nil
	}
	in := map[string]any{"input": base64.StdEncoding.EncodeToString(payload)}
	field := "hmac"
	if sig.Type == SignEd25519 {
		field = "signature"
	}
	in[field] = sig.Value
	s, err := k.write(ctx, k.path("verify", sig.Key), in)
	if err != nil {
		return "", err
	}
	if ok, _ := s.Data["valid"].(bool); !ok {
		return "the manifest's signature does not match its content (edited, or copied from another backup)", nil
	}
	return "", nil
}
