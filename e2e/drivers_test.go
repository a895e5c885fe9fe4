//go:build e2e

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
)

// s3Prefix is the test's own prefix in the bucket.
func s3Prefix(t *testing.T) string {
	return "e2e/" + strings.ReplaceAll(t.Name(), "/", "-") + "/"
}

// releaseArchive packs the vigil binary the way make release does and
// serves it on loopback; it returns the archive's URL and sha256.
func releaseArchive(t *testing.T) (string, string) {
	t.Helper()
	bin, err := os.ReadFile(vigilBin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vigil_e2e_linux_amd64.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "vigil", Mode: 0o755, Size: int64(len(bin)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(bin)
	tw.Close()
	gz.Close()
	f.Close()
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(path))))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(path), hex.EncodeToString(sum[:])
}

// execSpec is two consul_kv backups on the exec driver, fetching vigil as
// an artifact with checksum: name into a local storage on the client's
// host volume, name-s3 into MinIO.
func execSpec(t *testing.T, name, artifact, checksum, folder string) string {
	dir := t.TempDir()
	src := controlBlocks(t, stack.Consul.URL()) + fmt.Sprintf(`
nomad {
  datacenters       = ["dc1"]
  driver            = "exec"
  artifact          = %q
  artifact_checksum = %q
  vault {
    role = %q
  }
}
storage "local" "host" {
  path        = %q
  host_volume = %q
}
backup "consul_kv" %q {
  schedule = "0 0 1 1 *"
  storage  = storage.local.host
  %s
}
backup "consul_kv" "%s-s3" {
  schedule = "0 0 1 1 *"
  storage  = storage.s3.sts
  %s
}
`, artifact, checksum, "vigil-"+configID(t),
		folder, harness.HostVolume, name, consulSource(t, stack.Consul.URL(), ""), name, consulSource(t, stack.Consul.URL(), ""))
	src += storages(s3Prefix(t), stack.MinIO.Endpoint())
	if err := os.WriteFile(filepath.Join(dir, "spec.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	setupSpec(t, dir, configID(t))
	return dir
}

// TestExecDriverWithChecksummedArtifact: a backup job on the exec driver
// fetches the release archive, which Nomad checks against the spec's
// checksum, and its backup lands in the node's folder (the host volume),
// not in the task's chroot; with a wrong checksum Nomad refuses the
// artifact and the job fails visibly.
func TestExecDriverWithChecksummedArtifact(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 6*time.Minute)
	url, sum := releaseArchive(t)
	host := stack.Nomad.HostVolumeDir
	dir := execSpec(t, "exec-kv", url, "sha256:"+sum, host)
	if r := vigil(t, "", "apply", "-auto-approve", dir); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	forceOK(t, ctx, "vigil-exec-kv")
	forceOK(t, ctx, "vigil-exec-kv-s3")
	if ms := manifests(t, ctx, s3Prefix(t), "exec-kv-s3"); len(ms) != 1 {
		t.Errorf("manifests in MinIO after the exec run: %v", ms)
	}
	if r := vigil(t, "", "list", "-config", dir, "-backup", "exec-kv-s3"); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("list of the exec backup in MinIO: %s", r)
	}
	manifests, _ := filepath.Glob(filepath.Join(host, "exec-kv", "*.manifest.json"))
	objects, _ := filepath.Glob(filepath.Join(host, "exec-kv", "*.json.zst"))
	if len(manifests) != 1 || len(objects) != 1 {
		t.Fatalf("the node's folder holds manifests %v and data objects %v, want one backup", manifests, objects)
	}
	if r := vigil(t, "", "list", "-config", dir, "-backup", "exec-kv"); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("list of the exec backup: %s", r)
	}

	bad := execSpec(t, "exec-kv", url, "sha256:"+strings.Repeat("0", 64), host)
	if r := vigil(t, "", "apply", "-auto-approve", bad); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	alloc, err := stack.Nomad.ForceRun(ctx, "vigil-exec-kv", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	why := stack.Nomad.Explain(alloc)
	if alloc.ClientStatus != "failed" || !strings.Contains(strings.ToLower(why), "checksum") {
		t.Errorf("a wrong checksum: allocation %s\n%s", alloc.ClientStatus, why)
	}
	if ms, _ := filepath.Glob(filepath.Join(host, "exec-kv", "*.manifest.json")); len(ms) != 1 {
		t.Errorf("manifests after the refused artifact: %v", ms)
	}
}
