//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/storetest"
)

// TestS3StoreSuite runs the shared store suite against MinIO, and checks
// that failed uploads leave no multipart upload behind.
func TestS3StoreSuite(t *testing.T) {
	needStack(t)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return &store.S3{Client: stack.MinIO.RootClient(), Bucket: stack.MinIO.Bucket, Prefix: fmt.Sprintf("storetest/%d-%d/", time.Now().UnixNano(), n)}
	})
	ctx := testContext(t, time.Minute)
	out, err := stack.MinIO.RootClient().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(stack.MinIO.Bucket), Prefix: aws.String("storetest/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("failed puts left %d multipart uploads", len(out.Uploads))
	}
}
