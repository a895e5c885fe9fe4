//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// result is one finished vigil process.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// vigil runs the binary with the stack's environment and the tokens of
// the spec directory its arguments name (setupSpec), with vaultToken as
// the Vault token when it is set.
func vigil(t *testing.T, vaultToken string, args ...string) result {
	t.Helper()
	return vigilEnv(t, envFor(vaultToken, args), args...)
}

// envFor is the environment of a vigil process with args.
func envFor(vaultToken string, args []string) []string {
	tok := tokensFor(args)
	if vaultToken != "" {
		tok.Vault = vaultToken
	}
	return stack.Env(tok)
}

// tokensFor finds the tokens of the spec directory args name.
func tokensFor(args []string) harness.Tokens {
	for _, a := range args {
		if v, ok := specTokens.Load(a); ok {
			return v.(harness.Tokens)
		}
	}
	return harness.Tokens{}
}

// vigilEnv runs the binary with env.
func vigilEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vigil %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// harnessVarValues point the example specs at the harness servers and run
// the tasks with raw_exec and the freshly built binary.
func harnessVarValues() []string { return stack.ExampleVars(vigilBin) }

// harnessVars are harnessVarValues as -var flags.
func harnessVars() []string { return harness.AsFlags(harnessVarValues()) }

// copyExamples copies examples/ into a fresh directory, sets it up for the
// stack (vigil setup -apply with the harness variables), and returns it.
func copyExamples(t *testing.T) string {
	t.Helper()
	dir := copyExamplesOnly(t)
	setupSpec(t, dir, "platform", harnessVars()...)
	return dir
}

// copyExamplesOnly copies examples/ into a fresh directory.
func copyExamplesOnly(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(harness.RepoRoot(), "examples", "*.hcl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tool(name string) string {
	p, err := harness.Tool(name)
	if err != nil {
		panic(err)
	}
	return p
}

var interrupt = os.Interrupt
