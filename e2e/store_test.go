//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/record/recordtest"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/s3"
	"github.com/vigil-backup/vigil/tasks/store/storetest"
)

// TestS3StoreSuite runs the shared store suite against MinIO, and checks
// that failed uploads leave no multipart upload behind.
func TestS3StoreSuite(t *testing.T) {
	needStack(t)
	var prefixes []string
	storetest.Run(t, func(t *testing.T) store.Store {
		p := fmt.Sprintf("storetest/%d-%d/", time.Now().UnixNano(), len(prefixes))
		prefixes = append(prefixes, p)
		return &s3.Store{Client: stack.MinIO.RootClient(), Bucket: stack.MinIO.Bucket, Prefix: p}
	})
	ctx := testContext(t, time.Minute)
	for _, p := range prefixes {
		for _, key := range storetest.FailedKeys {
			if ups := listUploads(t, ctx, p+key); len(ups) != 0 {
				t.Errorf("a failed put left multipart uploads: %v", ups)
			}
		}
	}
}

// TestConsulBookSuite runs the shared record suite on the control Consul.
func TestConsulBookSuite(t *testing.T) {
	needStack(t)
	cc, _ := stack.Consul.Client()
	recordtest.Run(t, &record.Consul{Client: cc, Keep: 20}, fmt.Sprintf("suite-%d", time.Now().UnixNano()), 20)
}
