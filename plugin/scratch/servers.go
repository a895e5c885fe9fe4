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
	return ConsulOn(ctx, bin, dir, name, ports, false)
}

// ConsulOn starts a Consul agent on the given ports (http, serf_lan,
// serf_wan, server): in memory with -dev, or else a one-server cluster
// keeping its state in dir, so it can be restarted and keep its data.
func ConsulOn(ctx context.Context, bin, dir, name string, ports []int, persistent bool) (*Proc, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	hcl := fmt.Sprintf(`ports { http = %d, dns = -1, grpc = -1, grpc_tls = -1, serf_lan = %d, serf_wan = %d, server = %d }`,
		ports[0], ports[1], ports[2], ports[3])
	args := []string{"agent", "-dev"}
	if persistent {
		args = []string{"agent", "-server", "-bootstrap-expect=1", "-data-dir", filepath.Join(dir, "data")}
	}
	args = append(args, "-bind", "127.0.0.1", "-client", "127.0.0.1", "-node", name, "-hcl", hcl, "-log-level", "warn")
	p, err := StartProc(name, dir, ServerEnv(), bin, args...)
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	err = WaitHTTP(ctx, p, "http://"+addr+"/v1/status/leader", 30*time.Second, func(r *http.Response) bool {
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

// Etcd starts one etcd member on data (which may hold a restored snapshot)
// with the given ports (0 picks free ones), and waits until it is healthy.
// quotaBytes raises the backend quota; 0 keeps etcd's default.
func Etcd(ctx context.Context, bin, dir, name, data string, clientPort, peerPort int, quotaBytes int64) (*Proc, string, error) {
	if clientPort == 0 || peerPort == 0 {
		ports, err := FreePorts(2)
		if err != nil {
			return nil, "", err
		}
		clientPort, peerPort = ports[0], ports[1]
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
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
	p, err := StartProc(name, dir, ServerEnv(), bin, args...)
	if err != nil {
		return nil, "", err
	}
	err = WaitHTTP(ctx, p, client+"/health", 30*time.Second, func(r *http.Response) bool {
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
