package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// stopJobs stops every job (purged) and waits, up to wait, until no
// allocation is still running on the client: a task's `nomad executor`
// calls setsid and outlives the agent, so the agent must stop its tasks
// before it stops itself.
func (n *Nomad) stopJobs(wait time.Duration) {
	c, err := n.Client()
	if err != nil {
		return
	}
	q := &nomad.QueryOptions{Namespace: "*"}
	jobs, _, err := c.Jobs().List(q)
	if err != nil {
		return
	}
	for _, j := range jobs {
		_, _, _ = c.Jobs().Deregister(j.ID, true, &nomad.WriteOptions{Namespace: j.Namespace})
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		allocs, _, err := c.Allocations().List(q)
		if err != nil {
			return
		}
		live := 0
		for _, a := range allocs {
			if a.ClientStatus == nomad.AllocClientStatusPending || a.ClientStatus == nomad.AllocClientStatusRunning {
				live++
			}
		}
		if live == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Leftovers lists the processes of this agent's binary still alive after
// it stopped: executors and plugins whose command line or working folder
// is under the agent's data folder, or whose parent is gone (re-parented
// to init) and who run the same nomad binary.
func (n *Nomad) Leftovers() []int {
	if n == nil || n.Proc == nil {
		return nil
	}
	return leftovers(n.Proc.Bin(), n.DataDir)
}

func leftovers(bin, dataDir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		if exe != bin && strings.TrimSuffix(exe, " (deleted)") != bin {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(dir, "cwd"))
		if strings.Contains(string(cmdline), dataDir) || strings.HasPrefix(cwd, dataDir) || parentPID(dir) == 1 {
			out = append(out, pid)
		}
	}
	return out
}

func parentPID(procDir string) int {
	b, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// killLeftovers ends what stopping the agent left, and counts them in
// Killed: a clean stop kills none.
func (n *Nomad) killLeftovers() {
	pids := n.Leftovers()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	n.Killed += len(pids)
}
