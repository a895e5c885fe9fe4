package harness

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// FakeGCS is fake-gcs-server, Google Cloud Storage's emulator, holding
// its objects in memory. The GCS SDK talks to it when
// STORAGE_EMULATOR_HOST is its Host, the SDK's own switch.
type FakeGCS struct {
	*scratch.Proc
	Host string // 127.0.0.1:PORT
}

// StartFakeGCS starts the emulator and creates bucket in it.
func StartFakeGCS(ctx context.Context, dir, bucket string) (*FakeGCS, error) {
	bin, err := Tool("fake-gcs-server")
	if err != nil {
		return nil, err
	}
	port, err := scratch.FreePort()
	if err != nil {
		return nil, err
	}
	g := &FakeGCS{Host: fmt.Sprintf("127.0.0.1:%d", port)}
	g.Proc, err = scratch.StartProc("fake-gcs-server", dir, scratch.ServerEnv(), bin, "-scheme", "http", "-host", "127.0.0.1",
		"-port", fmt.Sprint(port), "-backend", "memory", "-public-host", g.Host, "-log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := scratch.WaitHTTP(ctx, g.Proc, "http://"+g.Host+"/storage/v1/b", 30*time.Second, scratch.Status200); err != nil {
		g.Stop(5 * time.Second)
		return nil, err
	}
	resp, err := http.Post("http://"+g.Host+"/storage/v1/b?project=vigil", "application/json",
		strings.NewReader(fmt.Sprintf(`{"name": %q}`, bucket)))
	if err != nil {
		g.Stop(5 * time.Second)
		return nil, fmt.Errorf("harness: fake-gcs-server: create bucket: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.Stop(5 * time.Second)
		return nil, fmt.Errorf("harness: fake-gcs-server: create bucket: %s", resp.Status)
	}
	return g, nil
}

// Azurite is Azure Blob Storage's emulator, holding blobs in its folder
// (they outlive a Stop and Start), with its well-known development
// account.
type Azurite struct {
	*scratch.Proc
	Addr string
	dir  string
	port int
}

// AzuriteAccount and AzuriteKey are the emulator's well-known development
// account, published by Microsoft.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// StartAzurite starts the blob emulator and creates container in it.
func StartAzurite(ctx context.Context, dir, container string) (*Azurite, error) {
	a := &Azurite{dir: dir}
	var err error
	if a.port, err = scratch.FreePort(); err != nil {
		return nil, err
	}
	a.Addr = fmt.Sprintf("127.0.0.1:%d", a.port)
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	c, err := azblob.NewClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		a.Stop(5 * time.Second)
		return nil, err
	}
	if _, err := c.CreateContainer(ctx, container, nil); err != nil {
		a.Stop(5 * time.Second)
		return nil, fmt.Errorf("harness: azurite: create container: %w", err)
	}
	return a, nil
}

// Start (re)starts the emulator on its port, with what it held before.
func (a *Azurite) Start(ctx context.Context) error {
	bin, err := Tool("azurite")
	if err != nil {
		return err
	}
	// --skipApiVersionCheck: the azblob SDK may speak a newer API version
	// than this Azurite knows.
	a.Proc, err = scratch.StartProc("azurite", a.dir, scratch.ServerEnv(), bin, "--blobHost", "127.0.0.1",
		"--blobPort", fmt.Sprint(a.port), "--location", filepath.Join(a.dir, "data"), "--skipApiVersionCheck", "--silent")
	if err != nil {
		return err
	}
	// Any answer means it listens (the account root answers 400 or 403).
	if err := scratch.WaitHTTP(ctx, a.Proc, a.BlobEndpoint(), 60*time.Second, func(*http.Response) bool { return true }); err != nil {
		a.Stop(5 * time.Second)
		return err
	}
	return nil
}

// BlobEndpoint is the account's blob service URL.
func (a *Azurite) BlobEndpoint() string {
	return fmt.Sprintf("http://%s/%s", a.Addr, AzuriteAccount)
}

// ConnectionString is what AZURE_STORAGE_CONNECTION_STRING holds for the
// emulator.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", AzuriteAccount, AzuriteKey, a.BlobEndpoint())
}
