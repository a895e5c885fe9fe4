package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
)

// TestClientCertificateValidity: an expired (or not yet valid) cert_file
// is refused before any server is dialled, naming the file and the date;
// the server itself would say only "bad certificate".
func TestClientCertificateValidity(t *testing.T) {
	ca, err := scratch.NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name       string
		from, till time.Time
		want       string
	}{
		{"expired", now.Add(-48 * time.Hour), now.Add(-time.Hour), "expired at"},
		{"future", now.Add(time.Hour), now.Add(48 * time.Hour), "not valid before"},
		{"valid", now.Add(-time.Hour), now.Add(time.Hour), ""},
	} {
		p, err := ca.Issue(c.name, scratch.CertOptions{Client: true, NotBefore: c.from, NotAfter: c.till})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ClientTLS(&config.TLS{CAFile: ca.File, CertFile: p.CertFile, KeyFile: p.KeyFile}, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p.CertFile)):
			t.Errorf("%s: want an error naming %s and %q, got %v", c.name, p.CertFile, c.want, err)
		}
		if err != nil && strings.Contains(err.Error(), string(p.KeyPEM[30:60])) {
			t.Errorf("%s: the error holds the private key", c.name)
		}
	}
}
