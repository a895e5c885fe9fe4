//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vigil-backup/vigil/e2e/harness"
)

// uiCheck is one health check as the Consul UI renders it.
type uiCheck struct {
	Name  string
	State string
}

// consulUIChecks opens the Consul UI's health-check page of vigil's
// service on node in headless Chromium, logged in with token, waits until
// every name is shown, saves a screenshot to shot, and returns the checks
// with their states (read from the classes the UI puts on each check).
// Chromium trusts the stack's server certificate by its public key, and
// nothing else.
func consulUIChecks(t *testing.T, node string, names []string, shot, token string) []uiCheck {
	t.Helper()
	ctx := chromium(t, 1280, 900)
	// The UI keeps its token in localStorage, as its login form does.
	login := fmt.Sprintf(`localStorage.setItem("consul:token", JSON.stringify({SecretID: %q})); true`, token)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(stack.Consul.URL()+"/ui/")); err != nil {
		t.Fatalf("open the Consul UI: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](login)); err != nil {
		t.Fatalf("log in to the Consul UI: %v", err)
	}
	url := stack.Consul.URL() + "/ui/dc1/services/vigil/instances/" + node + "/vigil/health-checks"
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	var items []string
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		items, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll(".health-check-output")).map(e => e.className + "\t" + e.innerText.split("\n")[0])`))
		if err != nil {
			t.Fatal(err)
		}
		if all := strings.Join(items, "\n"); containsAll(all, names) {
			break
		}
	}
	screenshot(t, ctx, shot)
	var out []uiCheck
	for _, it := range items {
		class, name, _ := strings.Cut(it, "\t")
		c := uiCheck{Name: strings.TrimSpace(name)}
		for _, s := range []string{"passing", "warning", "critical"} {
			if strings.Contains(" "+class+" ", " "+s+" ") {
				c.State = s
			}
		}
		out = append(out, c)
	}
	return out
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// chromium starts headless Chromium with a window of w×h and returns its
// context (90 s), ended with the test. It trusts the stack's server
// certificate by its public key, and nothing else.
func chromium(t *testing.T, w, h int) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if inCI() {
			t.Fatal("chromium is not installed; `make tools` installs it")
		}
		t.Skip("chromium is not installed; `make tools` installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.WindowSize(w, h),
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(t)))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshot saves the whole page to shot.
func screenshot(t *testing.T, ctx context.Context, shot string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(shot), 0o755)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

// artifact is where e2e tests keep files worth looking at after a run.
func artifact(name string) string {
	return filepath.Join(harness.RepoRoot(), ".work", "artifacts", name)
}

// spkiHash is the base64 sha256 of the stack's server certificate's public
// key, as Chromium's ignore-certificate-errors-spki-list takes it.
func spkiHash(t *testing.T) string {
	block, _ := pem.Decode(stack.Sec.Server.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
