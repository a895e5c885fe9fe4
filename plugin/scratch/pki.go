package scratch

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
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// CA is a throwaway certificate authority made in Go (no openssl): a
// drill's scratch etcd member serves TLS with it so the drill can log in
// as root by certificate, and the e2e harness signs every server and
// client certificate of its stack with one.
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
		return nil, fmt.Errorf("scratch: issue %s: %w", name, err)
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

// EtcdRootTLS makes a throwaway CA in dir, a server certificate for a
// member on loopback, and a client certificate for etcd's root user (etcd
// takes the CN as the user): a scratch member restored from a cluster with
// auth enabled keeps its auth, and a drill logs in as root this way.
func EtcdRootTLS(dir string) (*EtcdTLS, *tls.Config, error) {
	ca, err := NewCA(dir)
	if err != nil {
		return nil, nil, err
	}
	server, err := ca.Issue("scratch-etcd", CertOptions{Server: true})
	if err != nil {
		return nil, nil, err
	}
	root, err := ca.Issue("root", CertOptions{Client: true})
	if err != nil {
		return nil, nil, err
	}
	client := ca.ClientTLS(root)
	return &EtcdTLS{CertFile: server.CertFile, KeyFile: server.KeyFile, CAFile: ca.File,
		Client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: client}}}, client, nil
}

// CRL is a certificate revocation list signed by the CA, listing serials,
// in DER (as etcd's --client-crl-file takes it).
func (ca *CA) CRL(serials ...*big.Int) ([]byte, error) {
	var revoked []x509.RevocationListEntry
	for _, s := range serials {
		revoked = append(revoked, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: serial(), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: revoked,
	}, ca.Cert, ca.Key)
	return der, err
}
