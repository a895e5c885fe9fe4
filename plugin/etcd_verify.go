package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/plugin/scratch"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

var (
	_ Verifier = (*Etcd)(nil)
	_ Checker  = (*Etcd)(nil)
)

// CheckOffline checks the sha256 trailer of an etcd snapshot stream, the
// check etcdutl makes before a restore.
func (t *Etcd) CheckOffline(_ context.Context, r io.Reader) error {
	check := newTrailerCheck()
	if _, err := io.Copy(check, r); err != nil {
		return fmt.Errorf("etcd: snapshot: %w", err)
	}
	if err := check.verify(); err != nil {
		return fmt.Errorf("etcd: snapshot: %w", err)
	}
	return nil
}

// Verify writes the snapshot to a scratch folder, checks it with `etcdutl
// snapshot status`, restores it with `etcdutl snapshot restore`, starts a
// member on it, runs the key assertions, and removes it all.
func (t *Etcd) Verify(ctx context.Context, r io.Reader, v *config.Verify, o VerifyOptions) (*VerifyResult, error) {
	sc := scratchOf(o)
	etcdutl, err := scratchBinary("etcdutl", sc.Etcdutl)
	if err != nil {
		return nil, err
	}
	etcd, err := scratchBinary("etcd", sc.Etcd)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "vigil-drill-")
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer os.RemoveAll(dir)
	db := o.Path // the drill's checked copy: its trailer passed already
	if db == "" {
		db = filepath.Join(dir, "snapshot.db")
		if err := (&Etcd{}).Restore(ctx, r, RestoreOptions{OutFile: db}); err != nil {
			return nil, err
		}
	}
	if out, err := exec.CommandContext(ctx, etcdutl, "snapshot", "status", db, "-w", "json").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("drill: etcdutl snapshot status: %w: %s", err, strings.TrimSpace(string(out)))
	}
	ports, err := scratch.FreePorts(2)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	peer := scratch.PeerURL(ports[1])
	if out, err := exec.CommandContext(ctx, etcdutl, "snapshot", "restore", db, "--data-dir", data, "--name", "vigil-drill",
		"--initial-cluster", "vigil-drill="+peer, "--initial-advertise-peer-urls", peer).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("drill: etcdutl snapshot restore: %w: %s", err, strings.TrimSpace(string(out)))
	}
	// The restored member keeps the source's auth: the drill serves it TLS
	// with a CA of its own and logs in as root by certificate.
	srvTLS, clientTLS, err := scratch.EtcdRootTLS(dir)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	p, endpoint, err := scratch.Etcd(ctx, etcd, dir, "vigil-drill", data, ports[0], ports[1], 0, srvTLS)
	if err != nil {
		return nil, fmt.Errorf("drill: scratch etcd: %w", err)
	}
	defer p.Stop(10 * time.Second)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop(), TLS: clientTLS})
	if err != nil {
		return nil, fmt.Errorf("drill: scratch etcd client: %w", err)
	}
	defer c.Close()
	res, err := assertKeys(ctx, etcdKeys{c}, v)
	if err == nil {
		if st, serr := c.Status(ctx, endpoint); serr == nil {
			res.Values["revision"] = st.Header.Revision
		}
	}
	return res, err
}

type etcdKeys struct{ c *clientv3.Client }

func (k etcdKeys) count(ctx context.Context, prefix string) (int, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}
	if prefix == "" {
		prefix = "\x00"
		opts = []clientv3.OpOption{clientv3.WithFromKey(), clientv3.WithCountOnly()}
	}
	r, err := k.c.Get(ctx, prefix, opts...)
	if err != nil {
		return 0, fmt.Errorf("drill: count %q: %w", prefix, err)
	}
	return int(r.Count), nil
}

func (k etcdKeys) get(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := k.c.Get(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("drill: get %s: %w", key, err)
	}
	if len(r.Kvs) == 0 {
		return nil, false, nil
	}
	return r.Kvs[0].Value, true, nil
}
