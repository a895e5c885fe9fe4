package plugin

import (
	"errors"
	"strings"
	"testing"
)

// TestConsulDenied: a refusal names the rule, ours or Consul's.
func TestConsulDenied(t *testing.T) {
	raw := errors.New(`Unexpected response code: 403 (Permission denied: token with AccessorID 'x' lacks permission 'node:write' on "vigil-health")`)
	if got := ConsulDenied(raw, "").Error(); !strings.HasPrefix(got, `consul: token lacks node "vigil-health" write (403)`) {
		t.Errorf("from Consul's message: %s", got)
	}
	if got := ConsulDenied(raw, `key "a" write`).Error(); !strings.HasPrefix(got, `consul: token lacks key "a" write (403)`) {
		t.Errorf("given: %s", got)
	}
	other := errors.New("connection refused")
	if ConsulDenied(other, "x") != other {
		t.Error("an error that is not a refusal changed")
	}
}
