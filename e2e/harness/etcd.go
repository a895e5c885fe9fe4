package harness

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
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

// Fill writes about mib MiB of incompressible 1 MiB values under /fill/,
// four writers at a time: big databases for long uploads and benchmarks.
func (e *Etcd) Fill(ctx context.Context, mib int) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			val := make([]byte, 1<<20)
			for i := w; i < mib; i += 4 {
				rng.Read(val)
				if _, err := c.Put(ctx, fmt.Sprintf("/fill/%06d", i), string(val)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
