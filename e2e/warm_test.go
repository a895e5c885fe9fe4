//go:build e2e

package e2e

import (
	"flag"
	"os"
	"os/exec"
	"regexp"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// arm64Warmed is closed when the background compile of the arm64 build
// ends (at once when none was started).
var arm64Warmed = make(chan struct{})

// arm64Build is the background compile, killed if the tests end first.
var arm64Build *exec.Cmd

// warmArm64 compiles vigil for linux/arm64 with the release's flags in
// the background, at the lowest CPU priority, while the tests before
// TestReleaseIsReproducible mostly wait on servers: on a cold cache the
// arm64 compile of every dependency is minutes of the two cores, and it
// now fills idle time instead of the release test's own. It starts only
// when the release test is to run.
func warmArm64() {
	run := ""
	if f := flag.Lookup("test.run"); f != nil {
		run = f.Value.String()
	}
	if run != "" {
		if re, err := regexp.Compile(run); err != nil || !re.MatchString("TestReleaseIsReproducible") {
			close(arm64Warmed)
			return
		}
	}
	cmd := exec.Command("nice", "-n", "19", "go", "build", "-trimpath", "-buildvcs=false", "-tags", harness.BuildTags, "-o", os.DevNull, "./cmd/vigil")
	cmd.Dir = harness.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if err := cmd.Start(); err != nil {
		close(arm64Warmed)
		return
	}
	arm64Build = cmd
	go func() {
		cmd.Wait() // a failure shows in the release test's own build
		close(arm64Warmed)
	}()
}

// stopWarming kills the background compile if it still runs.
func stopWarming() {
	select {
	case <-arm64Warmed:
	default:
		if arm64Build != nil {
			arm64Build.Process.Kill()
		}
	}
}
