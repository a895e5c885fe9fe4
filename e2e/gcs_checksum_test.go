//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/gcs"
	"google.golang.org/api/googleapi"
)

// TestGCSServerRefusesAlteredUpload: the gcs store sends the whole
// object's CRC32C with the request that finalizes it, so the server, not
// only vigil's own comparison afterwards, refuses an object whose bytes
// changed on the way, and nothing appears under its name. One byte is
// flipped by a proxy in the first chunk of a resumable upload (the chunk
// that does not carry the checksum) and in a single-request upload.
func TestGCSServerRefusesAlteredUpload(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	g, err := harness.StartFakeGCS(ctx, t.TempDir(), "vigil-crc")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop(5 * time.Second)
	proxy, err := harness.StartHTTPProxy("http://"+g.Host, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	client, err := gcs.NewClient(ctx, nil, proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	st := &gcs.Store{Client: client, Bucket: "vigil-crc", Prefix: "p/"}

	marker, flipped := []byte("vigil-flip-me-0123456789"), []byte("vigil-flip-me-0123456788")
	var mu sync.Mutex
	var flip bool
	var hashes, bodies []string // per upload request: X-Goog-Hash, the first bytes
	proxy.Set(harness.ProxyRule{PathPrefix: "/upload/", RewriteRequest: func(h http.Header, b []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		hashes = append(hashes, h.Get("X-Goog-Hash"))
		bodies = append(bodies, string(b[:min(len(b), 4096)]))
		if flip {
			return bytes.Replace(b, marker, flipped, 1)
		}
		return b
	}})

	for _, c := range []struct {
		name string
		size int
	}{{"single request", 1 << 20}, {"resumable", gcs.ChunkSize + 3<<20}} {
		t.Run(c.name, func(t *testing.T) {
			data := make([]byte, c.size)
			rand.Read(data)
			copy(data[8192:], marker)
			var sum [4]byte
			binary.BigEndian.PutUint32(sum[:], crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
			want := base64.StdEncoding.EncodeToString(sum[:])

			mu.Lock()
			flip, hashes, bodies = false, nil, nil
			mu.Unlock()
			if err := st.Put(ctx, "intact", bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("intact upload: %v", err)
			}
			mu.Lock()
			declared := strings.Join(hashes, " ") + strings.Join(bodies, " ")
			n := len(hashes)
			mu.Unlock()
			if c.size > gcs.ChunkSize {
				if n < 2 || hashes[n-1] != "crc32c="+want || hashes[0] != "" {
					t.Fatalf("resumable upload's X-Goog-Hash per request = %q, want crc32c=%s on the last only", hashes, want)
				}
			} else if !strings.Contains(declared, `"crc32c":"`+want+`"`) {
				t.Fatalf("single request declares no crc32c %s: %.300s", want, declared)
			}

			mu.Lock()
			flip = true
			mu.Unlock()
			err := st.Put(ctx, "altered", bytes.NewReader(data), int64(len(data)))
			var gerr *googleapi.Error
			if !errors.As(err, &gerr) || gerr.Code != http.StatusBadRequest {
				t.Fatalf("altered upload: err = %v, want the server's 400 refusal", err)
			}
			if !strings.Contains(err.Error(), "CRC32C") {
				t.Errorf("the refusal does not name the checksum: %v", err)
			}
			if _, err := st.Get(ctx, "altered"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after a refused upload, get: %v, want not found", err)
			}
			rc, err := st.Get(ctx, "intact")
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("intact object read back differs (%d bytes, want %d)", got.Len(), len(data))
			}
		})
	}
}
