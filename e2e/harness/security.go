package harness

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
)

// Security is how the stack is locked down, as production runs it: one CA
// (made in Go) signs every server's certificate and every client
// certificate, and the bootstrap tokens belong to the harness alone. Every
// vigil process and every task runs with what `vigil setup` generates.
// A nil *Security is the open lab (no TLS, no ACLs), for the smoke test of
// -dev agents and the benchmarks.
type Security struct {
	CA *scratch.CA
	// Server serves every server's TLS: loopback, plus the names Consul
	// and Nomad check (server.dc1.consul, server.global.nomad,
	// client.global.nomad).
	Server *scratch.Pair
	// Admin is the harness's and operators' client certificate (Nomad asks
	// every HTTPS client for one); EtcdRoot's CN makes it etcd's root user.
	Admin, EtcdRoot *scratch.Pair
	// ConsulManagement is the control Consul's bootstrap token.
	ConsulManagement string
	// TrustFile is a copy of the CA certificate alone in a folder anyone
	// may read (TrustDir): the Nomad host volume TrustVolume, which a
	// container's non-root user reads; CA's folder holds private keys.
	TrustDir, TrustFile string
}

// TrustVolume is the Nomad client's read-only host volume of TrustDir.
const TrustVolume = "vigil-tls"

// NewSecurity makes the CA and the certificates under dir.
func NewSecurity(dir string) (*Security, error) {
	ca, err := scratch.NewCA(dir)
	if err != nil {
		return nil, err
	}
	s := &Security{CA: ca, ConsulManagement: uuid()}
	if s.Server, err = ca.Issue("server", scratch.CertOptions{Server: true, Client: true,
		DNS: []string{"server.dc1.consul", "server.global.nomad", "client.global.nomad"}}); err != nil {
		return nil, err
	}
	if s.Admin, err = ca.Issue("admin", scratch.CertOptions{Client: true}); err != nil {
		return nil, err
	}
	if s.EtcdRoot, err = ca.Issue("root", scratch.CertOptions{Client: true}); err != nil {
		return nil, err
	}
	s.TrustDir = filepath.Join(dir, "trust")
	s.TrustFile = filepath.Join(s.TrustDir, "ca.pem")
	if err := os.MkdirAll(s.TrustDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(s.TrustDir, 0o755); err != nil {
		return nil, err
	}
	return s, os.WriteFile(s.TrustFile, ca.CertPEM, 0o644)
}

// ClientTLS trusts the CA and presents the admin certificate.
func (s *Security) ClientTLS() *tls.Config { return s.CA.ClientTLS(s.Admin) }

// HTTPClient is an HTTP client that trusts the CA and presents the admin
// certificate, for waiting on servers and for raw API calls.
func (s *Security) HTTPClient() *http.Client {
	if s == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.ClientTLS()}}
}

func (s *Security) scheme() string {
	if s == nil {
		return "http"
	}
	return "https"
}

// uuid is a random UUID, the shape Consul wants for token secrets.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}
