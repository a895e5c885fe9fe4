package harness

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strings"
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

// EtcdCluster is several etcd members on loopback forming one cluster.
type EtcdCluster struct {
	Members []*Etcd
}

// StartEtcdCluster starts n members with one initial cluster and waits
// until each is healthy.
func StartEtcdCluster(ctx context.Context, dir, name string, n int) (*EtcdCluster, error) {
	bin, err := Tool("etcd")
	if err != nil {
		return nil, err
	}
	ports, err := scratch.FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := 0; i < n; i++ {
		initial = append(initial, fmt.Sprintf("%s-%d=%s", name, i, scratch.PeerURL(ports[2*i+1])))
	}
	c := &EtcdCluster{}
	for i := 0; i < n; i++ {
		member := fmt.Sprintf("%s-%d", name, i)
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := scratch.PeerURL(ports[2*i+1])
		data := scratch.DataDir(dir, member)
		p, err := scratch.StartProc(member, dir, scratch.ServerEnv(), bin,
			"--name", member, "--data-dir", data,
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new", "--log-level", "warn")
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Members = append(c.Members, &Etcd{Proc: p, Endpoint: client, DataDir: data})
	}
	for _, m := range c.Members {
		err := scratch.WaitHTTP(ctx, m.Proc, m.Endpoint+"/health", 60*time.Second, func(r *http.Response) bool {
			b, _ := io.ReadAll(r.Body)
			return r.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
		})
		if err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Leader returns the member that leads, found through Status.
func (c *EtcdCluster) Leader(ctx context.Context) (*Etcd, uint64, error) {
	for _, m := range c.Members {
		cl, err := m.Client()
		if err != nil {
			continue
		}
		st, err := cl.Status(ctx, m.Endpoint)
		cl.Close()
		if err == nil && st.Header.MemberId == st.Leader {
			return m, st.Leader, nil
		}
	}
	return nil, 0, fmt.Errorf("harness: no etcd member answers as leader")
}

// Stop ends every member.
func (c *EtcdCluster) Stop() {
	for _, m := range c.Members {
		m.Stop()
	}
}
