package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Etcd is a single-member etcd on loopback.
type Etcd struct {
	Proc     *Proc
	Endpoint string
	DataDir  string
}

// StartEtcd starts a member. quotaBytes raises the backend quota (0 keeps
// etcd's default of 2 GiB), for the big databases of the benchmarks.
func StartEtcd(ctx context.Context, dir, name string, quotaBytes int64) (*Etcd, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	return StartEtcdMember(ctx, dir, name, filepath.Join(dir, name+".etcd"), ports[0], ports[1], quotaBytes)
}

// PeerURL is the peer URL StartEtcdMember gives a member on port.
func PeerURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }

// StartEtcdMember starts a member on data (which may hold a restored
// snapshot) with the given ports.
func StartEtcdMember(ctx context.Context, dir, name, data string, clientPort, peerPort int, quotaBytes int64) (*Etcd, error) {
	bin, err := Tool("etcd")
	if err != nil {
		return nil, err
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
	p, err := StartProc(name, dir, serverEnv(), bin, args...)
	if err != nil {
		return nil, err
	}
	e := &Etcd{Proc: p, Endpoint: client, DataDir: data}
	err = WaitHTTP(ctx, p, client+"/health", 30*time.Second, func(r *http.Response) bool {
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
	})
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return e, nil
}

// Client returns a client for the member.
func (e *Etcd) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second})
}

// Stop ends the member.
func (e *Etcd) Stop() {
	if e != nil {
		e.Proc.Stop(10 * time.Second)
	}
}
