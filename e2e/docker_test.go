//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/jobs"
	"github.com/vigil-backup/vigil/tasks/health"
)

// needDocker skips (fails under CI) when the harness has no dockerd:
// make tools installs Debian's docker.io.
func needDocker(t *testing.T) {
	t.Helper()
	needStack(t)
	if stack.Docker != nil {
		return
	}
	msg := "no dockerd: run `make tools` (it installs Debian's docker.io)"
	if stack.DockerErr != nil {
		msg = fmt.Sprintf("dockerd did not start: %v", stack.DockerErr)
	}
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// dockerImage builds the vigil image as `make image` does, against the
// harness dockerd, then removes it and loads the saved archive, as an
// operator without a registry would. It returns the image's tag.
func dockerImage(t *testing.T, ctx context.Context) string {
	t.Helper()
	dist := t.TempDir()
	build := exec.CommandContext(ctx, filepath.Join(harness.RepoRoot(), "scripts", "image.sh"), dist, "e2e")
	build.Dir = harness.RepoRoot()
	build.Env = append(os.Environ(), "DOCKER_HOST="+stack.Docker.Host)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image's script: %v\n%s", err, out)
	}
	const tag = "vigil:e2e"
	if out, err := stack.Docker.Command(ctx, "rmi", tag).CombinedOutput(); err != nil {
		t.Fatalf("docker rmi: %v\n%s", err, out)
	}
	if out, err := stack.Docker.Command(ctx, "load", "-i", filepath.Join(dist, "vigil-image.tar")).CombinedOutput(); err != nil || !strings.Contains(string(out), tag) {
		t.Fatalf("docker load of dist/vigil-image.tar: %v\n%s", err, out)
	}
	return tag
}

// TestDockerDriver: the image make image builds runs a backup job and the
// vigil-serve job on Nomad's docker driver. The container reads the CA
// from a read-only host volume, reaches the servers on the node's
// loopback (network_mode = "host") and trusts MinIO through
// AWS_CA_BUNDLE from the spec's env; the backup lands in MinIO with its
// manifest, and serve in its container keeps the backup's Consul check.
func TestDockerDriver(t *testing.T) {
	needDocker(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 8*time.Minute)
	image := dockerImage(t, ctx)
	name, node := "docker-kv", "vigil-docker"
	prefix := fmt.Sprintf("e2e/%s-%d/", t.Name(), time.Now().UnixNano())
	src := controlBlocks(t, stack.Consul.URL()) + fmt.Sprintf(`
nomad {
  datacenters  = ["dc1"]
  driver       = "docker"
  image        = %q
  network_mode = "host"
  env = {
    AWS_CA_BUNDLE = %q
  }
  host_volume %q {
    path = %q
  }
  vault {
    role = %q
  }
}

serve {
  node = %q
}
`, image, stack.Sec.TrustFile, harness.TrustVolume, stack.Sec.TrustDir, "vigil-"+configID(t), node) +
		storages(prefix, stack.MinIO.Endpoint()) + fmt.Sprintf(`
backup "consul_kv" %q {
  schedule = "0 0 1 1 *"
  storage  = storage.s3.sts
  %s
}
`, name, consulSource(t, stack.Consul.URL(), ""))
	// The container sees the CA only where the host volume puts it.
	src = strings.ReplaceAll(src, stack.Sec.CA.File, stack.Sec.TrustFile)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	setupSpec(t, dir, configID(t))
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	nc, _ := stack.Nomad.Client()
	for _, id := range []string{"vigil-" + name, jobs.ServePrefix + configID(t)} {
		job, _, err := nc.Jobs().Info(id, nil)
		if err != nil || job.TaskGroups[0].Tasks[0].Driver != "docker" {
			t.Fatalf("%s: want a docker task: %v", id, err)
		}
	}

	forceOK(t, ctx, "vigil-"+name)
	if ms := manifests(t, ctx, prefix, name); len(ms) != 1 {
		t.Fatalf("manifests in MinIO after the docker run: %v", ms)
	}
	if r := vigil(t, "", "list", "-config", dir, "-backup", name); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("list (a good backup is a manifest and its object): %s", r)
	}

	// serve, in its container, writes the check and answers on its port.
	stub := waitRunning(t, jobs.ServePrefix+configID(t), 1)[0]
	waitCheck(t, node, health.CheckID(name), "passing", time.Minute)
	alloc, _, err := nc.Allocations().Info(stub.ID, nil)
	if err != nil || alloc.AllocatedResources == nil || len(alloc.AllocatedResources.Shared.Ports) != 1 {
		t.Fatalf("serve allocation: %v", err)
	}
	p := alloc.AllocatedResources.Shared.Ports[0]
	resp, err := http.Get(fmt.Sprintf("http://%s:%d/v1/status/%s", p.HostIP, p.Value, name))
	if err != nil {
		t.Fatalf("serve's status on the host network: %v", err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("serve's status: %d %v", resp.StatusCode, err)
	}
	t.Logf("serve on docker: %v", st)
}
