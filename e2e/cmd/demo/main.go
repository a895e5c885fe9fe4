// Command demo brings up the harness servers on loopback, applies the
// example specs to Nomad, forces every backup job and shows what landed.
// It runs until Ctrl-C, or until `make demo-down`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

func main() {
	down := flag.Bool("down", false, "stop a running demo")
	flag.Parse()
	if err := run(*down); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func stateDir() string { return filepath.Join(harness.ToolsDir(), "..", "demo") }

func run(down bool) error {
	pidFile := filepath.Join(stateDir(), "demo.pid")
	if down {
		return stop(pidFile)
	}
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 && syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("a demo is already running (pid %d); stop it with `make demo-down`", pid)
		}
	}
	bin, err := filepath.Abs(filepath.Join(harness.RepoRoot(), "bin", "vigil"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s is missing; run `make build` (make demo does)", bin)
	}
	dir := filepath.Join(stateDir(), "run")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	fmt.Println("==> Starting Consul, Vault, MinIO, etcd and Nomad on 127.0.0.1")
	s, err := harness.Start(ctx, harness.Options{Dir: dir, Progress: os.Stdout})
	if err != nil {
		if errors.Is(err, harness.ErrToolMissing) {
			return fmt.Errorf("%w (make demo runs `make tools` first)", err)
		}
		return err
	}
	defer s.Stop()
	d := &demo{stack: s, bin: bin, dir: dir}
	if err := d.show(ctx); err != nil {
		return err
	}
	fmt.Println("\nThe stack stays up until Ctrl-C or `make demo-down`.")
	<-ctx.Done()
	fmt.Println("\n==> Stopping the servers")
	return nil
}

func stop(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		fmt.Println("no demo is running")
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad pid file %s", pidFile)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		os.Remove(pidFile)
		fmt.Println("no demo is running")
		return nil
	}
	// The demo stops its jobs, waits for their allocations, then stops
	// the servers (harness.Stack.Stop).
	for i := 0; i < 900 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("the demo (pid %d) did not stop within 90s; see its servers' logs under %s", pid, stateDir())
	}
	fmt.Println("demo stopped: its jobs, their allocations and the servers")
	dir, _ := filepath.Abs(stateDir())
	fmt.Printf("Left on disk: %s (%s): the servers' data and logs, the CA and the tokens of the last demo.\n"+
		"The next `make demo` starts afresh there; remove it with: rm -rf %s\n", dir, duSize(dir), dir)
	return nil
}

// duSize is the size of the files under dir, for people.
func duSize(dir string) string {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
