package plugin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/hcl/config"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
)

// Etcd backs up an etcd cluster through Maintenance.Snapshot.
type Etcd struct {
	src  config.EtcdSource
	cert *tls.Certificate
}

var _ Target = (*Etcd)(nil)

// NewEtcd returns the target for src; it connects on use. cert, when set,
// is the run's own client certificate (Vault PKI), used instead of the
// spec's cert_file.
func NewEtcd(src config.EtcdSource, cert *tls.Certificate) *Etcd { return &Etcd{src: src, cert: cert} }

func (t *Etcd) client(endpoints []string) (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: t.src.DialTimeout, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{
			experimental.WithBufferPool(snapshotPool),
			// A fixed 1 MiB flow-control window (instead of gRPC's
			// BDP-driven one, up to 16 MiB) bounds what etcd can send ahead
			// of the upload, so memory stays flat whatever the db size.
			grpc.WithInitialWindowSize(1 << 20),
			grpc.WithInitialConnWindowSize(1 << 20),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newSnapshotCodec())),
		}}
	if t.src.TLS != nil || t.cert != nil {
		c, err := ClientTLS(t.src.TLS, t.cert)
		if err != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		cfg.TLS = c
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %s: %w", strings.Join(endpoints, ","), err)
	}
	return c, nil
}

// leader finds the cluster's leader through Status and returns a client
// connected to it alone, its endpoint and its status. Every call of a
// snapshot (status before, the stream, status after) then goes to that one
// member, so the manifest's member, revision and data agree.
func (t *Etcd) leader(ctx context.Context) (*clientv3.Client, string, *clientv3.StatusResponse, error) {
	wait := max(t.src.DialTimeout, time.Second)
	var errs []error
	var leaderID uint64
	for _, ep := range t.src.Endpoints {
		// One handshake first: gRPC retries a failed one until the
		// deadline and then says only "deadline exceeded".
		if err := t.tlsReason(ctx, ep); err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := t.client([]string{ep})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// The client dials lazily and gRPC waits for a connection: bound
		// the call so an unreachable member fails fast.
		sctx, cancel := context.WithTimeout(ctx, wait)
		st, err := c.Status(sctx, ep)
		cancel()
		if err != nil {
			c.Close()
			errs = append(errs, fmt.Errorf("no answer from %s within %s: %w", ep, wait, err))
			continue
		}
		if st.Header.MemberId == st.Leader {
			return c, ep, st, nil
		}
		leaderID = st.Leader
		// A follower knows who leads: reach the leader at its advertised
		// client URL when the spec does not list it.
		if ml, err := c.MemberList(ctx); err == nil && !listed(t.src.Endpoints, ml.Members, leaderID) {
			for _, m := range ml.Members {
				if m.ID == leaderID && len(m.ClientURLs) > 0 {
					c.Close()
					lc, err := t.client(m.ClientURLs[:1])
					if err != nil {
						return nil, "", nil, err
					}
					sctx, cancel := context.WithTimeout(ctx, wait)
					st, err := lc.Status(sctx, m.ClientURLs[0])
					cancel()
					if err == nil && st.Header.MemberId == st.Leader {
						return lc, m.ClientURLs[0], st, nil
					}
					lc.Close()
					return nil, "", nil, fmt.Errorf("etcd: the leader %x at %s did not answer as leader: %v", leaderID, m.ClientURLs[0], err)
				}
			}
		}
		c.Close()
	}
	if leaderID != 0 {
		errs = append(errs, fmt.Errorf("no endpoint answered as the leader (member %x)", leaderID))
	}
	return nil, "", nil, fmt.Errorf("etcd: find the leader among %s: %w", strings.Join(t.src.Endpoints, ","), errors.Join(errs...))
}

// tlsReason dials an https endpoint with the client's own TLS settings
// and returns why the handshake fails, if it does: a wrong CA, a name
// mismatch, a certificate the server refuses (expired, unknown).
func (t *Etcd) tlsReason(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return nil
	}
	conf, err := ClientTLS(t.src.TLS, t.cert)
	if err != nil {
		return err
	}
	if conf.ServerName == "" {
		conf.ServerName = u.Hostname()
	}
	// Speaking HTTP/2, the server sends its settings right after the
	// handshake, so the read below returns at once when all is well.
	conf.NextProtos = []string{"h2"}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second}, Config: conf}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return fmt.Errorf("tls with %s: %w", u.Host, err)
	}
	defer conn.Close()

	// A server refuses a client certificate after the handshake (TLS 1.3):
	// its alert arrives on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("tls with %s: %w", u.Host, err)
	}
	return nil
}

// etcdDenied says what etcd's "permission denied" on a snapshot means.
func etcdDenied(err error) error {
	if strings.Contains(err.Error(), "permission denied") {
		return fmt.Errorf("%w: the user (the client certificate's CN) lacks the root role, which etcd asks of a snapshot", err)
	}
	return err
}

// listed reports whether the member id has a client URL among endpoints.
func listed(endpoints []string, members []*pb.Member, id uint64) bool {
	for _, m := range members {
		if m.ID != id {
			continue
		}
		for _, u := range m.ClientURLs {
			for _, ep := range endpoints {
				if strings.TrimSuffix(u, "/") == strings.TrimSuffix(ep, "/") {
					return true
				}
			}
		}
	}
	return false
}

// Snapshot streams the leader's snapshot into w and checks the sha256 that
// etcd appends to it as the bytes pass, the check etcdutl makes on restore.
// A stream whose trailer does not match fails here, before a manifest.
func (t *Etcd) Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) (Source, error) {
	c, endpoint, before, err := t.leader(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// The raw Maintenance stream, not clientv3's Snapshot helper: the
	// helper copies every chunk through a pipe of its own; here each chunk
	// goes from the decoded message straight to w.
	stream, err := pb.NewMaintenanceClient(c.ActiveConnection()).Snapshot(ctx, &pb.SnapshotRequest{})
	if err != nil {
		return nil, fmt.Errorf("etcd: snapshot %s: %w", endpoint, err)
	}
	var check trailer = newTrailerCheck()
	sink := w
	if opts.Digest != nil {
		check = digestTrailer{opts.Digest} // the pipeline hashes these bytes already
	} else {
		sink = io.MultiWriter(w, check.(*trailerCheck))
	}
	var version string
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("etcd: snapshot stream from %s: %w", endpoint, etcdDenied(err))
		}
		if version == "" {
			version = resp.GetVersion()
		}
		if _, err := sink.Write(resp.GetBlob()); err != nil {
			return nil, fmt.Errorf("etcd: snapshot stream: %w", err)
		}
	}
	if err := check.verify(); err != nil {
		return nil, fmt.Errorf("etcd: snapshot stream from %s: %w: %v", endpoint, ErrIncomplete, err)
	}
	src := Source{
		"etcd_version": version,
		"db_size":      fmt.Sprint(check.size() - sha256.Size),
		"cluster_id":   fmt.Sprintf("%x", before.Header.ClusterId),
		"member_id":    fmt.Sprintf("%x", before.Header.MemberId),
		"endpoint":     endpoint,
	}
	// The snapshot stream carries no header, so the revision comes from
	// Status calls around it, on the same member: exact when nothing was
	// written meanwhile.
	after, err := c.Status(ctx, endpoint)
	if err == nil && after.Header.Revision == before.Header.Revision {
		src["revision"] = fmt.Sprint(before.Header.Revision)
	} else {
		src["revision_min"] = fmt.Sprint(before.Header.Revision)
	}
	keys, err := c.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithCountOnly(), clientv3.WithRev(before.Header.Revision))
	if err != nil {
		return nil, fmt.Errorf("etcd: count keys on %s: %w", endpoint, err)
	}
	src["keys"] = fmt.Sprint(keys.Count)
	if keys.Count == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("etcd: snapshot of %s: %w: the cluster holds no key at revision %d", endpoint, ErrEmpty, before.Header.Revision)
	}
	return src, nil
}

// trailerCheck checks etcd's trailer when nobody else hashes the stream.
type trailerCheck struct{ *Digest }

func newTrailerCheck() *trailerCheck { return &trailerCheck{NewDigest()} }

func (c *trailerCheck) verify() error { return digestTrailer{c.Digest}.verify() }

func (c *trailerCheck) size() int64 { return c.Written() }

// trailer checks etcd's trailing sha256 once the stream has been read.
type trailer interface {
	verify() error
	size() int64
}

// digestTrailer checks the trailer with the pipeline's running digest.
type digestTrailer struct{ d StreamDigest }

func (t digestTrailer) verify() error {
	sum, tail := t.d.SumExcept(sha256.Size)
	return verifyTrailer(t.d.Written(), sum, tail)
}

func (t digestTrailer) size() int64 { return t.d.Written() }

func verifyTrailer(n int64, sum, tail []byte) error {
	if len(tail) != sha256.Size {
		return fmt.Errorf("%d bytes is too short for an etcd snapshot", n)
	}
	if n < sha256.Size || (n-sha256.Size)%512 != 0 {
		return fmt.Errorf("%d bytes is not a db plus a sha256 trailer (size %% 512 != 32): the stream is incomplete", n)
	}
	if string(sum) != string(tail) {
		return fmt.Errorf("sha256 trailer mismatch: the snapshot is corrupt")
	}
	return nil
}

// Restore writes the snapshot to a db file, checks its trailer, and prints
// the etcdutl command that restores it. With DataDir set it runs that
// command itself.
func (t *Etcd) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) error {
	out := opts.OutFile
	if out == "" {
		out = "snapshot.db"
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("etcd: restore: %w", err)
	}
	var check trailer = newTrailerCheck()
	var dst io.Writer = f
	if opts.Digest != nil {
		check = digestTrailer{opts.Digest} // the reader hashes these bytes already
	} else {
		dst = io.MultiWriter(f, check.(*trailerCheck))
	}
	_, err = io.Copy(dst, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = check.verify()
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("etcd: restore %s: %w", out, err)
	}
	abs, _ := filepath.Abs(out)
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = "/var/lib/etcd-restored"
	}
	args := []string{"snapshot", "restore", abs, "--data-dir", dataDir}
	if opts.Out != nil {
		fmt.Fprintf(opts.Out, "Wrote %s (%d bytes, sha256 trailer verified).\nRestore it with:\n\n  etcdutl %s\n\nthen start a member with --data-dir %s (add --name, --initial-cluster and --initial-advertise-peer-urls for your cluster).\n",
			abs, check.size(), strings.Join(args, " "), dataDir)
	}
	if opts.DataDir == "" {
		return nil
	}
	bin := opts.Etcdutl
	if bin == "" {
		if bin, err = exec.LookPath("etcdutl"); err != nil {
			return fmt.Errorf("etcd: restore: etcdutl not found on PATH; pass -etcdutl or run the command above: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("etcd: restore: etcdutl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return nil
}
