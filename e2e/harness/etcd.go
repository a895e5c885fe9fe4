package harness

import (
	"context"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Etcd is a single-member etcd on loopback.
type Etcd struct {
	Proc     *scratch.Proc
	Endpoint string
	DataDir  string
}

// StartEtcd starts a member. quotaBytes raises the backend quota (0 keeps
// etcd's default of 2 GiB), for the big databases of the benchmarks.
func StartEtcd(ctx context.Context, dir, name string, quotaBytes int64) (*Etcd, error) {
	return StartEtcdMember(ctx, dir, name, scratch.DataDir(dir, name), 0, 0, quotaBytes)
}

// StartEtcdMember starts a member on data (which may hold a restored
// snapshot) with the given ports (0 picks free ones).
func StartEtcdMember(ctx context.Context, dir, name, data string, clientPort, peerPort int, quotaBytes int64) (*Etcd, error) {
	bin, err := Tool("etcd")
	if err != nil {
		return nil, err
	}
	p, endpoint, err := scratch.Etcd(ctx, bin, dir, name, data, clientPort, peerPort, quotaBytes)
	if err != nil {
		return nil, err
	}
	return &Etcd{Proc: p, Endpoint: endpoint, DataDir: data}, nil
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
