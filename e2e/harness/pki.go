package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is the harness's test certificate authority, made in Go (no openssl):
// every server's certificate and every client certificate chain to it.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
	// File is the CA certificate on disk, for CONSUL_CACERT and the like.
	File string
	dir  string
}

// NewCA makes a CA valid for a day and writes its certificate to dir.
func NewCA(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "vigil harness CA", Organization: []string{"vigil e2e"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	ca := &CA{Cert: cert, Key: key, dir: filepath.Join(dir, "pki"),
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
	if err := os.MkdirAll(ca.dir, 0o700); err != nil {
		return nil, err
	}
	ca.File = filepath.Join(ca.dir, "ca.pem")
	return ca, os.WriteFile(ca.File, ca.CertPEM, 0o644)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// Pair is a certificate and its key, on disk and in memory.
type Pair struct {
	CertFile, KeyFile string
	CertPEM, KeyPEM   []byte
}

// TLS is the pair as a tls.Certificate.
func (p *Pair) TLS() tls.Certificate {
	c, _ := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	return c
}

// CertOptions shape an issued certificate.
type CertOptions struct {
	// DNS names; 127.0.0.1 and localhost are always added for servers.
	DNS    []string
	Server bool
	Client bool
	// NotBefore and NotAfter, when set, bound the validity (an expired
	// certificate for a test); else an hour back to a day ahead.
	NotBefore, NotAfter time.Time
}

// Issue signs a certificate for name (its CN) and writes name.pem and
// name-key.pem.
func (ca *CA) Issue(name string, o CertOptions) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     o.DNS,
	}
	if !o.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = o.NotBefore, o.NotAfter
	}
	if o.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	if o.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("harness: issue %s: %w", name, err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := &Pair{
		CertFile: filepath.Join(ca.dir, name+".pem"),
		KeyFile:  filepath.Join(ca.dir, name+"-key.pem"),
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	if err := os.WriteFile(p.CertFile, p.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return p, os.WriteFile(p.KeyFile, p.KeyPEM, 0o600)
}

// Pool is a cert pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// ClientTLS is a TLS config trusting the CA, presenting pair when set.
func (ca *CA) ClientTLS(pair *Pair) *tls.Config {
	c := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	if pair != nil {
		c.Certificates = []tls.Certificate{pair.TLS()}
	}
	return c
}

// ServerTLS is a TLS config serving pair.
func (ca *CA) ServerTLS(pair *Pair) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{pair.TLS()}, MinVersion: tls.VersionTLS12}
}
