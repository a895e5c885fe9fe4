package azure

import (
	"context"
	"strings"
	"testing"
	"time"
)

// With no key and no connection string, a client takes azidentity's
// default chain: here a service principal whose authority is not there.
// Its failure names the chain and never quotes the secret. (The shared
// key from AZURE_STORAGE_KEY is tested against Azurite in the e2e suite.)
func TestDefaultChainAfterKeys(t *testing.T) {
	const secret = "s3cr3t-client-secret-value"
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_KEY", "")
	t.Setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
	t.Setenv("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
	t.Setenv("AZURE_CLIENT_SECRET", secret)
	t.Setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1/")
	c, err := NewClient("vigilchain", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = (&Store{Client: c, Container: "chain"}).List(ctx, "")
	if err == nil {
		t.Fatal("a list with an unreachable authority succeeded")
	}
	if !strings.Contains(err.Error(), "DefaultAzureCredential") || !strings.Contains(err.Error(), "ClientSecretCredential") {
		t.Errorf("the error does not name the credential chain: %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error quotes the client secret: %v", err)
	}
}
