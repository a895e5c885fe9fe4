package plugin

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
)

// TestESRealCluster runs the scenarios a real cluster can play against
// the cluster at ES_URL: snapshot to SUCCESS, restore with a rename and
// wait for recovery, verify (documents counted, restored indices deleted),
// only-our-own listing, and the error for a missing repository.
//
// It needs ES_URL, an index pattern with documents in ES_INDICES (default
// "logs-*") and a registered repository in ES_REPOSITORY (default
// "vigil-test"); credentials come from ES_USERNAME/ES_PASSWORD or
// ES_API_KEY as for vigil. Without ES_URL it is skipped: no Elasticsearch
// can be installed on the CI machines, and the same scenarios run against
// esfake in elasticsearch_test.go.
func TestESRealCluster(t *testing.T) {
	url := os.Getenv("ES_URL")
	if url == "" {
		t.Skip("ES_URL is not set: skipping the real-cluster scenarios (esfake covers them in CI)")
	}
	indices := strings.Split(envOr("ES_INDICES", "logs-*"), ",")
	src := config.ElasticsearchSource{URL: url, Repository: envOr("ES_REPOSITORY", "vigil-test"), Indices: indices, SnapshotPrefix: "vigil-realtest"}
	es, err := NewElasticsearch("realtest", src, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := time.Now().UTC().Format("20060102T150405.000Z")
	var desc bytes.Buffer
	source, err := es.Snapshot(esCtx(t, 10*time.Minute), &desc, SnapshotOptions{ID: id, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer es.DeleteSnapshot(esCtx(t, time.Minute), source["snapshot"])
	if source["state"] != "SUCCESS" || source["uuid"] == "" {
		t.Fatalf("source = %v", source)
	}
	snaps, err := es.Snapshots(esCtx(t, time.Minute))
	if err != nil || len(snaps) == 0 || snaps[0].Name != source["snapshot"] {
		t.Fatalf("Snapshots = %+v, %v", snaps, err)
	}
	res, err := es.Verify(esCtx(t, 10*time.Minute), bytes.NewReader(desc.Bytes()),
		&config.Verify{Indices: []config.IndexAssertion{{Pattern: indices[0], MinDocs: 1}}}, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Checks) == 0 || len(res.Failed()) != 0 {
		t.Errorf("verify: %+v", res)
	}
	var out bytes.Buffer
	if err := es.Restore(esCtx(t, 10*time.Minute), bytes.NewReader(desc.Bytes()), RestoreOptions{RenamePattern: "(.+)", RenameReplacement: "vigil-realtest-$1", Out: &out}); err != nil {
		t.Fatal(err)
	}
	es.deleteScratch(esCtx(t, time.Minute), "vigil-realtest-")

	missing := src
	missing.Repository = "vigil-no-such-repository"
	m, _ := NewElasticsearch("realtest", missing, "", nil)
	if _, err := m.Snapshot(esCtx(t, time.Minute), &bytes.Buffer{}, SnapshotOptions{ID: id}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing repository: %v", err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
