package scratch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Consul starts `consul agent -dev` on free loopback ports, in memory, and
// waits until it has a leader. It returns the process and the HTTP address.
func Consul(ctx context.Context, bin, dir, name string) (*Proc, string, error) {
	ports, err := FreePorts(4)
	if err != nil {
		return nil, "", err
	}
	return ConsulWith(ctx, bin, dir, name, ports, ConsulOptions{})
}

// ConsulOptions shape a Consul agent.
type ConsulOptions struct {
	// Persistent makes a one-server cluster keeping its state in dir, so
	// it can be restarted and keep its data; else `-dev`, in memory.
	Persistent bool
	// HCL is added configuration (TLS, ACLs). With HTTPS set the first
	// port is the HTTPS port, and HTTP is off.
	HCL   string
	HTTPS bool
	// Client reaches the agent while waiting for it (TLS); nil is plain.
	Client *http.Client
}

// ConsulWith starts a Consul agent on the given ports (http or https,
// serf_lan, serf_wan, server) and waits until it has a leader. It returns
// the process and the address of its HTTP(S) API.
func ConsulWith(ctx context.Context, bin, dir, name string, ports []int, o ConsulOptions) (*Proc, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	api, scheme := fmt.Sprintf("http = %d", ports[0]), "http"
	if o.HTTPS {
		api, scheme = fmt.Sprintf("http = -1, https = %d", ports[0]), "https"
	}
	hcl := fmt.Sprintf(`ports { %s, dns = -1, grpc = -1, grpc_tls = -1, serf_lan = %d, serf_wan = %d, server = %d }`,
		api, ports[1], ports[2], ports[3])
	args := []string{"agent", "-dev"}
	if o.Persistent {
		args = []string{"agent", "-server", "-bootstrap-expect=1", "-data-dir", filepath.Join(dir, "data")}
	}
	args = append(args, "-bind", "127.0.0.1", "-client", "127.0.0.1", "-node", name, "-hcl", hcl, "-log-level", "warn")
	if o.HCL != "" {
		args = append(args, "-hcl", o.HCL)
	}
	p, err := StartProc(name, dir, ServerEnv(), bin, args...)
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	err = WaitHTTPWith(ctx, client, p, scheme+"://"+addr+"/v1/status/leader", 30*time.Second, func(r *http.Response) bool {
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Trim(strings.TrimSpace(string(b)), `"`) != ""
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, "", err
	}
	return p, addr, nil
}

// PeerURL is the peer URL Etcd gives a member on port.
func PeerURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }

// EtcdTLS makes a member serve its clients over TLS and take a client
// certificate's CN as the user (--client-cert-auth).
type EtcdTLS struct {
	CertFile, KeyFile, CAFile string
	// CRLFile, when set, lists revoked client certificates; etcd reads it
	// at each new connection.
	CRLFile string
	// Client reaches the member while waiting for it.
	Client *http.Client
}

// Etcd starts one etcd member on data (which may hold a restored snapshot)
// with the given ports (0 picks free ones), and waits until it is healthy.
// quotaBytes raises the backend quota; 0 keeps etcd's default. With t the
// member serves https with client-certificate authentication.
func Etcd(ctx context.Context, bin, dir, name, data string, clientPort, peerPort int, quotaBytes int64, t *EtcdTLS) (*Proc, string, error) {
	if clientPort == 0 || peerPort == 0 {
		ports, err := FreePorts(2)
		if err != nil {
			return nil, "", err
		}
		clientPort, peerPort = ports[0], ports[1]
	}
	scheme := "http"
	if t != nil {
		scheme = "https"
	}
	client := fmt.Sprintf("%s://127.0.0.1:%d", scheme, clientPort)
	peer := PeerURL(peerPort)
	args := []string{
		"--name", name, "--data-dir", data,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", name + "=" + peer, "--log-level", "warn",
	}
	if quotaBytes > 0 {
		args = append(args, "--quota-backend-bytes", fmt.Sprint(quotaBytes))
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	if t != nil {
		args = append(args, "--cert-file", t.CertFile, "--key-file", t.KeyFile, "--trusted-ca-file", t.CAFile, "--client-cert-auth")
		if t.CRLFile != "" {
			args = append(args, "--client-crl-file", t.CRLFile)
		}
		hc = t.Client
	}
	p, err := StartProc(name, dir, ServerEnv(), bin, args...)
	if err != nil {
		return nil, "", err
	}
	err = WaitHTTPWith(ctx, hc, p, client+"/health", 30*time.Second, func(r *http.Response) bool {
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, "", err
	}
	return p, client, nil
}

// DataDir is where Etcd keeps a member named name under dir by default.
func DataDir(dir, name string) string { return filepath.Join(dir, name+".etcd") }
