package harness

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-backup/vigil/plugin/scratch"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Etcd is a single-member etcd on loopback. With Security it serves its
// clients over TLS, takes a client certificate's CN as the user, and has
// etcd's own auth (RBAC) on, with root the only user until vigil setup adds
// the run's.
type Etcd struct {
	Proc     *scratch.Proc
	Endpoint string
	DataDir  string
	Sec      *Security
	// CRLFile lists the client certificates Vault revoked; etcd reads it
	// at each new connection.
	CRLFile string
}

// StartEtcd starts a member. quotaBytes raises the backend quota (0 keeps
// etcd's default of 2 GiB), for the big databases of the benchmarks.
func StartEtcd(ctx context.Context, dir, name string, quotaBytes int64, sec *Security) (*Etcd, error) {
	e, err := StartEtcdMember(ctx, dir, name, scratch.DataDir(dir, name), 0, 0, quotaBytes, sec)
	if err != nil || sec == nil {
		return e, err
	}
	if err := e.enableAuth(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// StartEtcdMember starts a member on data (which may hold a restored
// snapshot, whose auth it keeps) with the given ports (0 picks free ones).
func StartEtcdMember(ctx context.Context, dir, name, data string, clientPort, peerPort int, quotaBytes int64, sec *Security) (*Etcd, error) {
	bin, err := Tool("etcd")
	if err != nil {
		return nil, err
	}
	e := &Etcd{DataDir: data, Sec: sec}
	var t *scratch.EtcdTLS
	if sec != nil {
		e.CRLFile = filepath.Join(dir, name+"-crl.pem")
		t = &scratch.EtcdTLS{CertFile: sec.Server.CertFile, KeyFile: sec.Server.KeyFile, CAFile: sec.CA.File, CRLFile: e.CRLFile,
			Client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: sec.CA.ClientTLS(sec.EtcdRoot)}}}
		if _, err := os.Stat(e.CRLFile); err != nil {
			crl, err := sec.CA.CRL()
			if err == nil {
				err = os.WriteFile(e.CRLFile, crl, 0o644)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	e.Proc, e.Endpoint, err = scratch.Etcd(ctx, bin, dir, name, data, clientPort, peerPort, quotaBytes, t)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// enableAuth adds the root user (the CN of the harness's root
// certificate) and turns etcd's auth on.
func (e *Etcd) enableAuth(ctx context.Context) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.UserAddWithOptions(ctx, "root", "", &clientv3.UserAddOptions{NoPassword: true}); err != nil {
		return fmt.Errorf("harness: etcd add root: %w", err)
	}
	if _, err := c.UserGrantRole(ctx, "root", "root"); err != nil {
		return fmt.Errorf("harness: etcd grant root: %w", err)
	}
	if _, err := c.AuthEnable(ctx); err != nil {
		return fmt.Errorf("harness: etcd auth enable: %w", err)
	}
	return nil
}

// Client returns a client for the member, as root when it is secure.
func (e *Etcd) Client() (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second}
	if e.Sec != nil {
		cfg.TLS = e.Sec.CA.ClientTLS(e.Sec.EtcdRoot)
	}
	return clientv3.New(cfg)
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
func StartEtcdCluster(ctx context.Context, dir, name string, n int, sec *Security) (*EtcdCluster, error) {
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
		client := fmt.Sprintf("%s://127.0.0.1:%d", sec.scheme(), ports[2*i])
		peer := scratch.PeerURL(ports[2*i+1])
		data := scratch.DataDir(dir, member)
		args := []string{"--name", member, "--data-dir", data,
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new", "--log-level", "warn"}
		if sec != nil {
			args = append(args, "--cert-file", sec.Server.CertFile, "--key-file", sec.Server.KeyFile, "--trusted-ca-file", sec.CA.File, "--client-cert-auth")
		}
		p, err := scratch.StartProc(member, dir, scratch.ServerEnv(), bin, args...)
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Members = append(c.Members, &Etcd{Proc: p, Endpoint: client, DataDir: data, Sec: sec})
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	if sec != nil {
		hc.Transport = &http.Transport{TLSClientConfig: sec.CA.ClientTLS(sec.EtcdRoot)}
	}
	for _, m := range c.Members {
		err := scratch.WaitHTTPWith(ctx, hc, m.Proc, m.Endpoint+"/health", 60*time.Second, func(r *http.Response) bool {
			b, _ := io.ReadAll(r.Body)
			return r.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
		})
		if err != nil {
			c.Stop()
			return nil, err
		}
	}
	if sec != nil {
		if err := c.Members[0].enableAuth(ctx); err != nil {
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
