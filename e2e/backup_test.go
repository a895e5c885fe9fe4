//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	consul "github.com/hashicorp/consul/api"
	"github.com/klauspost/compress/zstd"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/envelope"
	"github.com/vigil-backup/vigil/tasks/manifest"
	"github.com/vigil-backup/vigil/tasks/record"
)

// examplesPrefix is where the example storage puts backups in the bucket.
const examplesPrefix = "vigil/"

// examplePrefix is where an example backup lands: Vault's snapshots have a
// storage of their own (examples/vault.hcl).
func examplePrefix(name string) string {
	if name == "vault-prod" {
		return "vigil-vault/"
	}
	return examplesPrefix
}

// seedData writes realistic keys into the harness Consul and etcd.
func seedData(t *testing.T, ctx context.Context) {
	t.Helper()
	cc, _ := stack.Consul.Client()
	kv := map[string]string{
		"service/web/config":     `{"port": 8080, "replicas": 3}`,
		"service/web/feature<&>": "html-escaped key",
		"service/api/config":     "timeout=30s",
		"service/api/binary":     "\x00\x01\x02\xff",
		"service/db/empty":       "",
		"other/not-in-kv-backup": "x",
	}
	for k, v := range kv {
		if _, err := cc.KV().Put(&consul.KVPair{Key: k, Value: []byte(v), Flags: 42}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ec, err := stack.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	for i := 0; i < 50; i++ {
		if _, err := ec.Put(ctx, fmt.Sprintf("/registry/pods/default/pod-%02d", i), strings.Repeat("spec", 100)); err != nil {
			t.Fatal(err)
		}
	}
	// The canary the examples' Vault drill reads in its restored copy.
	if err := stack.Vault.PutKV(ctx, "secret/data/canary", map[string]any{"written": "before the backup"}); err != nil {
		t.Fatal(err)
	}
}

// applyExamples registers the example jobs on the harness Nomad and
// returns the spec directory.
func applyExamples(t *testing.T) string {
	t.Helper()
	dir := copyExamples(t)
	args := append(append([]string{"apply", "-auto-approve"}, harnessVars()...), dir)
	if r := vigil(t, "", args...); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	return dir
}

// forceBackup forces a backup's job and requires its allocation to complete.
func forceBackup(t *testing.T, _ context.Context, name string) { forceJob(t, "vigil-"+name) }

func getObject(t *testing.T, ctx context.Context, key string) []byte {
	t.Helper()
	out, err := stack.MinIO.RootClient().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(stack.MinIO.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// latestManifest finds the newest manifest of a backup in MinIO and checks
// that its object is there with the manifest's size and sha256.
func latestManifest(t *testing.T, ctx context.Context, prefix, name string) (*manifest.Manifest, []byte) {
	t.Helper()
	objs, err := stack.MinIO.List(ctx, prefix+name+"/")
	if err != nil {
		t.Fatal(err)
	}
	var newest string
	for _, o := range objs {
		if strings.HasSuffix(o.Key, manifest.Suffix) && o.Key > newest {
			newest = o.Key
		}
	}
	if newest == "" {
		t.Fatalf("no manifest under %s%s/: %v", prefix, name, objs)
	}
	m, err := manifest.Parse(getObject(t, ctx, newest))
	if err != nil {
		t.Fatal(err)
	}
	data := getObject(t, ctx, prefix+m.Object)
	if got := objectChecksum(data, m); int64(len(data)) != m.Size || got != m.Checksum() {
		t.Fatalf("%s: object has %d bytes, checksum %s; manifest says %d %s", m.Object, len(data), got, m.Size, m.Checksum())
	}
	return m, data
}

// objectChecksum is data's checksum of the kind m records, as
// manifest.Checksum spells it: the sha256's hex, or for an encrypted
// object "crc32c:" and the CRC32C's (Castagnoli) hex, computed here
// with the standard library and not with vigil's code.
func objectChecksum(data []byte, m *manifest.Manifest) string {
	if m.Encryption != nil && m.SHA256 == "" {
		return fmt.Sprintf("crc32c:%08x", crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// decompress returns a stored object's bytes as the target wrote them:
// decrypted (with the data key Transit unwraps for the harness's root
// token) and decompressed.
func decompress(t *testing.T, m *manifest.Manifest, data []byte) []byte {
	t.Helper()
	if e := m.Encryption; e != nil {
		root, _ := stack.Vault.Root()
		key, err := envelope.New(root.Logical(), config.Encryption{Mount: e.Mount, Key: e.Key}).Unwrap(context.Background(), e.WrappedKey)
		if err != nil {
			t.Fatal(err)
		}
		r, err := envelope.Decrypt(bytes.NewReader(data), key, m.Backup, m.ID, m.Encryption.SegmentSize)
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
	}
	if m.Compression != "zstd" {
		return data
	}
	d, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lastRecord(t *testing.T, name string) *record.Run {
	t.Helper()
	cc, _ := stack.Consul.Client()
	pair, _, err := cc.KV().Get(record.KVPrefix+name+"/last", nil)
	if err != nil || pair == nil {
		t.Fatalf("no run record for %s: %v", name, err)
	}
	var r record.Run
	if err := json.Unmarshal(pair.Value, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestForcedBackupsThroughNomad applies the examples, forces each backup
// job, and checks object, manifest and run record.
func TestForcedBackupsThroughNomad(t *testing.T) {
	needStack(t)
	defer purgeVigilJobs(t)
	ctx := testContext(t, 5*time.Minute)
	seedData(t, ctx)
	applyExamples(t)
	for _, name := range []string{"consul-prod", "consul-kv-services", "etcd-main", "logs", "nomad-prod", "vault-prod"} {
		forceBackup(t, ctx, name)
		m, _ := latestManifest(t, ctx, examplePrefix(name), name)
		r := lastRecord(t, name)
		if r.Status != record.Succeeded || r.Object != m.Object || r.Checksum() != m.Checksum() || r.Size != m.Size || r.AllocID == "" {
			t.Errorf("%s: record %+v does not match manifest %+v", name, r, m)
		}
		if m.AllocID == "" || m.Version == "" || m.Source["raft_index"] == "" && m.Source["revision"] == "" && m.Source["snapshot"] == "" {
			t.Errorf("%s: manifest lacks provenance: %+v", name, m)
		}
	}
}
