//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/record"
)

// TestObjectLock: a storage with object_lock writes every object and
// manifest locked until the run's start plus retain (MinIO enforces it):
// the run's own credentials can neither delete the locked version nor
// replace it; retention that wants a locked backup gone records it as due
// (the run is not a failed run) and deletes it on a later run, after the
// date.
func TestObjectLock(t *testing.T) {
	needStack(t)
	ctx := testContext(t, 5*time.Minute)
	cc, _ := stack.Consul.Client()
	cc.KV().Put(kvPair("locked/a", "1"), nil)
	const retain = 10 * time.Second
	prefix := fmt.Sprintf("e2e/%s-%d/", t.Name(), time.Now().UnixNano())
	dir, _ := specDir(t, fmt.Sprintf(`
storage "s3" "locked" {
  bucket     = %q
  prefix     = %q
  endpoint   = %q
  path_style = true
  credentials {
    vault_kv_path = %q
  }
  object_lock {
    mode   = "COMPLIANCE"
    retain = %q
  }
}

backup "consul_kv" "locked" {
  schedule = "0 * * * *"
  storage  = storage.s3.locked
  %s
  retain {
    last = 1
  }
}`, harness.Bucket, prefix, stack.MinIO.Endpoint(), harness.KVPath, retain.String(), consulSource(t, stack.Consul.URL(), "locked/")))
	run := func() {
		t.Helper()
		if r := vigil(t, "", "run", "-config", dir, "-backup", "locked"); r.code != 0 || !strings.HasPrefix(r.stdout, "succeeded:") {
			t.Fatalf("run: %s", r)
		}
	}
	run()
	first, data := latestManifest(t, ctx, prefix, "locked")
	if first.RetainUntil == nil || first.RetainUntil.Sub(first.StartedAt) != retain {
		t.Fatalf("manifest retain_until: %v (started %v)", first.RetainUntil, first.StartedAt)
	}
	// The run's own credentials: the KV user's keys.
	own := s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(stack.KVAccessKey, stack.KVSecretKey, ""),
		HTTPClient: stack.Sec.HTTPClient()}, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(stack.MinIO.Endpoint()), true
	})
	for _, key := range []string{prefix + first.Object, prefix + first.Backup + "/" + first.ID + ".manifest.json"} {
		ret, err := own.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		// S3 keeps the date to the second (MinIO to the millisecond).
		got, want := aws.ToTime(ret.Retention.RetainUntilDate), *first.RetainUntil
		if string(ret.Retention.Mode) != "COMPLIANCE" || got.Sub(want).Abs() > time.Second {
			t.Fatalf("%s retention: %s until %s, want COMPLIANCE until %s", key, ret.Retention.Mode, got, want)
		}
		head, err := own.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := own.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), VersionId: head.VersionId}); err == nil {
			t.Fatalf("the run's credentials deleted the locked %s", key)
		}
	}
	// An overwrite only adds a version: the locked one is still there.
	key := prefix + first.Object
	orig, _ := own.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key)})
	put, err := own.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), Body: strings.NewReader("replaced")})
	if err != nil {
		t.Fatal(err)
	}
	old := getVersion(t, own, key, aws.ToString(orig.VersionId))
	if !bytes.Equal(old, data) {
		t.Fatal("the locked version changed")
	}
	// The manifest pins the locked version: with another version on top
	// (a flipped byte, as an attacker with write access would leave), the
	// backup still restores from its own, and list marks the overwrite.
	if first.ObjectVersion == "" || first.ObjectVersion != aws.ToString(orig.VersionId) {
		t.Fatalf("the manifest pins version %q, the object's is %q", first.ObjectVersion, aws.ToString(orig.VersionId))
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/2] ^= 0x01
	over, err := own.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), Body: bytes.NewReader(flipped)})
	if err != nil {
		t.Fatal(err)
	}
	if r := vigil(t, "", "list", "-config", dir, "-backup", "locked"); r.code != 0 || !strings.Contains(r.stdout, "OVERWRITTEN") || !strings.Contains(r.stderr, "evidence of tampering") {
		t.Errorf("list does not mark the overwritten object: %s", r)
	}
	fresh := freshConsul(t, ctx, "locked-restore")
	if r := restoreAs(t, fresh, "restore", "-config", dir, "-backup", "locked", "-id", first.ID, "-to", fresh.URL()); r.code != 0 {
		t.Errorf("restore from the pinned version: %s", r)
	} else if got := kvMap(t, fresh, "locked/"); got["locked/a"] == "" {
		t.Errorf("restored keys: %v", got)
	}
	if _, err := own.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), VersionId: over.VersionId}); err != nil {
		t.Fatal(err)
	}
	// Put things back: the new, unlocked version goes.
	if _, err := own.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), VersionId: put.VersionId}); err != nil {
		t.Fatal(err)
	}

	// Retention keeps one backup: the first is due while locked.
	time.Sleep(5 * time.Millisecond)
	run()
	last := lastRecord(t, "locked")
	if last.Status != record.Succeeded || last.Retention == nil || len(last.Retention.Due) != 1 || last.Retention.Due[0] != first.ID || len(last.Retention.Deleted) != 0 {
		t.Fatalf("second run's retention: %+v", last.Retention)
	}
	// After the date, a later run deletes it, every version of it.
	time.Sleep(time.Until(first.RetainUntil.Add(time.Second)))
	run()
	if last := lastRecord(t, "locked"); last.Retention == nil || !contains(last.Retention.Deleted, first.ID) {
		t.Fatalf("third run's retention: %+v", last.Retention)
	}
	vs, err := own.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(harness.Bucket), Prefix: aws.String(prefix + "locked/" + first.ID)})
	if err != nil || len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
		t.Fatalf("versions of the deleted backup remain: %d, %d (%v)", len(vs.Versions), len(vs.DeleteMarkers), err)
	}
}

func getVersion(t *testing.T, c *s3.Client, key, version string) []byte {
	t.Helper()
	out, err := c.GetObject(testContext(t, time.Minute), &s3.GetObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(out.Body)
	return b.Bytes()
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
