//go:build e2e

package e2e

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/record"
)

// stsKeys are the temporary keys MinIO's STS handed out.
type stsKeys struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

// stsRecorder is a reverse proxy in front of MinIO that keeps a copy of
// every AssumeRoleWithWebIdentity answer, so a test can hold the very keys
// the vigil binary used without the binary ever printing them.
type stsRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	keys []stsKeys
}

func newSTSRecorder(t *testing.T) *stsRecorder {
	t.Helper()
	target, _ := url.Parse(stack.MinIO.Endpoint())
	rec := &stsRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte("<AssumeRoleWithWebIdentityResponse")) {
			var r struct {
				Keys stsKeys `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
			}
			if err := xml.Unmarshal(body, &r); err != nil {
				return fmt.Errorf("sts recorder: %w", err)
			}
			rec.mu.Lock()
			rec.keys = append(rec.keys, r.Keys)
			rec.mu.Unlock()
		}
		return nil
	}
	proxy.Transport = &http.Transport{TLSClientConfig: stack.Sec.CA.ClientTLS(nil)}
	rec.Server = httptest.NewUnstartedServer(proxy) // listens on 127.0.0.1
	rec.TLS = stack.Sec.CA.ServerTLS(stack.Sec.Server)
	rec.StartTLS()
	t.Cleanup(rec.Close)
	return rec
}

func (r *stsRecorder) issued() []stsKeys {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stsKeys(nil), r.keys...)
}

// TestRunSTSKeysExpire runs the binary with vault_identity_sts through a
// recording proxy: the keys the run was given work while it runs, never
// appear in its output or record, and are refused by MinIO once the
// identity role's TTL has passed. Nothing revokes them: they die alone.
func TestRunSTSKeysExpire(t *testing.T) {
	needStack(t)
	t.Parallel()
	ctx := testContext(t, 3*time.Minute)
	rec := newSTSRecorder(t)
	dir, prefix := specDirVia(t, stack.Consul.URL(), rec.URL, fmt.Sprintf(`
backup "consul_kv" "sts-expire" {
  schedule = "0 * * * *"
  storage  = storage.s3.sts
  %s
}
`, consulSource(t, stack.Consul.URL(), "")))

	r := vigil(t, entityToken(t, ctx), "run", "-log-level", "trace", "-config", dir, "-backup", "sts-expire")
	if r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	runs := history(t, "sts-expire")
	if len(runs) != 1 || runs[0].Status != record.Succeeded {
		t.Fatalf("want one succeeded run, got %+v", runs)
	}
	keys := rec.issued()
	if len(keys) == 0 {
		t.Fatal("the run took no keys from the STS behind the proxy")
	}
	recordJSON := fmt.Sprintf("%+v", runs[0])
	for i, k := range keys {
		for what, s := range map[string]string{"access key": k.AccessKeyID, "secret key": k.SecretAccessKey, "session token": k.SessionToken} {
			if s == "" {
				t.Fatalf("keys %d: empty %s in the STS answer", i, what)
			}
			if strings.Contains(r.stdout+r.stderr+recordJSON, s) {
				t.Errorf("keys %d: the %s appears in the run's output or record", i, what)
			}
		}
		if d := k.Expiration.Sub(runs[0].StartedAt); d > harness.OIDCRoleTTL+10*time.Second {
			t.Errorf("keys %d expire %s after the run started, want within the role TTL %s", i, d, harness.OIDCRoleTTL)
		}
	}

	last := keys[len(keys)-1]
	static := credentials.NewStaticCredentialsProvider(last.AccessKeyID, last.SecretAccessKey, last.SessionToken)
	if time.Until(last.Expiration) > 2*time.Second {
		if err := putWith(ctx, static, prefix+"while-valid"); err != nil {
			t.Fatalf("the run's keys are refused before they expire: %v", err)
		}
	}
	time.Sleep(time.Until(last.Expiration) + 5*time.Second)
	if err := putWith(ctx, static, prefix+"after-ttl"); err == nil {
		t.Fatal("the keys the run used still work after the identity role's TTL")
	}
}
