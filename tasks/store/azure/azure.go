// Package azure keeps backup objects in an Azure Blob Storage container,
// as block blobs through the official SDK.
package azure

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/vigil-backup/vigil/tasks/store"
)

// Bounds of an upload's memory: BlockConcurrency blocks of BlockSize
// staged at once.
const (
	BlockSize        = 4 << 20
	BlockConcurrency = 4
)

var (
	_ store.Store  = (*Store)(nil)
	_ store.Ranger = (*Store)(nil)
)

// Not a store.Buffering: azblob stages its blocks in mmap'd buffers,
// outside the Go heap and its soft memory limit.

// Store is a container and a prefix in it.
type Store struct {
	Client    *azblob.Client
	Container string
	Prefix    string
}

// NewClient builds a client for account's blob service, with the first
// credentials found, in the order the az CLI and the SDK read them:
//
//  1. sharedKey, when given (a Vault KV secret);
//  2. AZURE_STORAGE_CONNECTION_STRING (Azurite's, or a real account's);
//  3. AZURE_STORAGE_KEY, the account's shared key;
//  4. azidentity's default chain: a service principal or workload identity
//     from AZURE_CLIENT_ID/AZURE_TENANT_ID/..., a managed identity, az login.
//
// serviceURL overrides https://ACCOUNT.blob.core.windows.net.
func NewClient(account, serviceURL, sharedKey string) (*azblob.Client, error) {
	if serviceURL == "" {
		serviceURL = "https://" + account + ".blob.core.windows.net/"
	}
	if sharedKey == "" && os.Getenv("AZURE_STORAGE_CONNECTION_STRING") == "" {
		sharedKey = os.Getenv("AZURE_STORAGE_KEY")
	}
	if sharedKey != "" {
		cred, err := azblob.NewSharedKeyCredential(account, sharedKey)
		if err != nil {
			return nil, fmt.Errorf("store: azure client for %s: the shared key is not valid base64", account)
		}
		c, err := azblob.NewClientWithSharedKeyCredential(serviceURL, cred, nil)
		if err != nil {
			return nil, fmt.Errorf("store: azure client for %s: %w", account, err)
		}
		return c, nil
	}
	if cs := os.Getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		c, err := azblob.NewClientFromConnectionString(cs, nil)
		if err != nil {
			// Never quote the string: it holds the account key.
			return nil, fmt.Errorf("store: azure client: AZURE_STORAGE_CONNECTION_STRING is not a connection string")
		}
		return c, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("store: azure client for %s: no credentials: give the storage a credentials block (vault_kv_path with account_key), or set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or an Entra identity (AZURE_CLIENT_ID, a managed identity, az login): %w", account, err)
	}
	c, err := azblob.NewClient(serviceURL, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("store: azure client for %s: %w", account, err)
	}
	return c, nil
}

func (s *Store) String() string { return "azure://" + s.Container + "/" + s.Prefix }

func (s *Store) where(key string) string { return "azure://" + s.Container + "/" + s.Prefix + key }

// Put stages r as blocks, several in flight, each checked by a CRC64 the
// service verifies, and commits the block list at the end: nothing is
// visible under key until the commit, and a failed or cancelled Put
// commits nothing (Azure drops uncommitted blocks after a week).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	counted := &store.CountingReader{R: r}
	_, err := s.Client.UploadStream(ctx, s.Container, s.Prefix+key, counted, &azblob.UploadStreamOptions{
		BlockSize: BlockSize, Concurrency: BlockConcurrency,
		TransactionalValidation: blob.TransferValidationTypeComputeCRC64(),
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: to.Ptr("application/octet-stream")},
	})
	if err == nil && size >= 0 && counted.N != size {
		// Committed with the wrong length: take it back.
		s.Delete(context.WithoutCancel(ctx), key)
		err = fmt.Errorf("read %d bytes, want %d", counted.N, size)
	}
	if err != nil {
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := s.Client.DownloadStream(ctx, s.Container, s.Prefix+key, nil)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.where(key), notFound(err))
	}
	return resp.Body, nil
}

// GetRange implements store.Ranger; the object's size comes from the
// answer's Content-Range.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, int64, error) {
	resp, err := s.Client.DownloadStream(ctx, s.Container, s.Prefix+key, &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: n}})
	if err != nil {
		return nil, 0, fmt.Errorf("store: get %s (bytes %d-%d): %w", s.where(key), off, off+n-1, notFound(err))
	}
	cr := ""
	if resp.ContentRange != nil {
		cr = *resp.ContentRange
	}
	total, err := store.ContentRangeTotal(cr)
	if err != nil {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("store: get %s: %w", s.where(key), err)
	}
	return resp.Body, total, nil
}

func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	pager := s.Client.NewListBlobsFlatPager(s.Container, &azblob.ListBlobsFlatOptions{Prefix: to.Ptr(s.Prefix + prefix)})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", s.where(prefix), err)
		}
		for _, b := range page.Segment.BlobItems {
			o := store.Object{Key: strings.TrimPrefix(*b.Name, s.Prefix)}
			if p := b.Properties; p != nil {
				if p.ContentLength != nil {
					o.Size = *p.ContentLength
				}
				if p.LastModified != nil {
					o.Modified = *p.LastModified
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.Client.DeleteBlob(ctx, s.Container, s.Prefix+key, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("store: delete %s: %w", s.where(key), err)
	}
	return nil
}

func notFound(err error) error {
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}
