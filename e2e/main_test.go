//go:build e2e

// Package e2e drives the real vigil binary against real Nomad, Consul,
// Vault, etcd and MinIO servers started by the harness, and checks what
// landed: objects in S3, Consul state, Vault leases, Nomad job status.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

var (
	stack      *harness.Stack
	vigilBin   string
	setupError error
	workDir    string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) (code int) {
	var err error
	workDir, err = os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)

	start := time.Now()
	vigilBin = filepath.Join(workDir, "vigil")
	if bin := os.Getenv("VIGIL_E2E_BINARY"); bin != "" {
		// Another build (an older commit's) under the same tests: how a
		// new test is shown to fail before its fix.
		vigilBin = bin
	} else {
		build := exec.Command("go", "build", "-tags", harness.BuildTags, "-o", vigilBin, "./cmd/vigil")
		build.Dir = harness.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build vigil: %v\n%s", err, out)
			return 1
		}
	}
	warmArm64()
	defer stopWarming()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, setupError = harness.Start(ctx, harness.Options{Dir: workDir, Progress: os.Stderr})
	if setupError != nil {
		if inCI() || !errors.Is(setupError, harness.ErrToolMissing) {
			fmt.Fprintf(os.Stderr, "e2e: the harness did not start: %v\n", setupError)
			return 1
		}
		fmt.Fprintf(os.Stderr, "e2e: SKIPPING every e2e test: %v\n", setupError)
	} else {
		fmt.Fprintf(os.Stderr, "e2e: harness up in %.1fs\n", time.Since(start).Seconds())
		defer func() {
			if !stopCleanly(stack) {
				code = 1
			}
		}()
		// The tests' own S3 and STS clients trust the stack's CA as vigil
		// does, through the AWS CLI's variable.
		os.Setenv("AWS_CA_BUNDLE", stack.Sec.CA.File)
	}
	code = m.Run()
	if code != 0 && stack != nil {
		fmt.Fprintf(os.Stderr, "\ne2e: server log tails:\n%s", stack.LogTails(25))
	}
	return code
}

func inCI() bool { return os.Getenv("CI") == "true" }

// stopCleanly stops the stack as `make demo-down` does and checks that
// nothing it started is left: stopping the jobs must end every task (a
// task's `nomad executor` outlives the agent otherwise), so Stop kills
// none, and none of the agent's processes remains.
func stopCleanly(s *harness.Stack) bool {
	s.Stop()
	ok := true
	if s.Nomad.Killed > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: stopping the stack left %d Nomad task processes running after the agent stopped (killed now)\n", s.Nomad.Killed)
		ok = false
	}
	if left := s.Nomad.Leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: processes of the stack still running after it stopped: %v\n", left)
		ok = false
	}
	if ok {
		fmt.Fprintln(os.Stderr, "e2e: the stack stopped with no process left")
	}
	return ok
}

// needStack skips a test when the servers are not built, except in CI,
// where a skipped e2e test is a failure.
func needStack(t *testing.T) {
	t.Helper()
	if stack != nil {
		return
	}
	msg := fmt.Sprintf("harness unavailable (%v); run `make tools` to build the servers", setupError)
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
