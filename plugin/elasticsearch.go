package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Elasticsearch drives the snapshot API. Elasticsearch writes the snapshot
// into its own repository; the "object" vigil stores is a small JSON
// descriptor of the snapshot, so manifests, checksums, listing and restore
// work as for the other targets. Credentials come from ES_API_KEY, or
// ES_USERNAME and ES_PASSWORD, never from the spec.
type Elasticsearch struct {
	backup string
	src    config.ElasticsearchSource
	es     esapi.Transport
	// Poll and Retry bound the waits; tests shorten them.
	Poll  Backoff
	Retry Backoff
}

var (
	_ Target     = (*Elasticsearch)(nil)
	_ Repository = (*Elasticsearch)(nil)
	_ Verifier   = (*Elasticsearch)(nil)
)

// Backoff is an exponential wait between First and Max.
type Backoff struct {
	First, Max time.Duration
}

func (b Backoff) next(d time.Duration) time.Duration {
	if d == 0 {
		return b.First
	}
	return min(2*d, b.Max)
}

// NewElasticsearch returns the target of backup name; to, when set,
// replaces the cluster URL. Credentials are the run's own from Vault
// (sec), else ES_API_KEY, or ES_USERNAME and ES_PASSWORD; never the spec's.
func NewElasticsearch(name string, src config.ElasticsearchSource, to string, sec *Secrets) (*Elasticsearch, error) {
	if to != "" {
		src.URL = to
	}
	if u, err := url.Parse(src.URL); err == nil && u.User != nil {
		return nil, fmt.Errorf("elasticsearch: %s carries user info: credentials never go in a URL; give them with ES_API_KEY, or ES_USERNAME and ES_PASSWORD", config.RedactURL(src.URL))
	}
	if sec == nil {
		sec = &Secrets{}
	}
	apiKey, user, password := os.Getenv("ES_API_KEY"), os.Getenv("ES_USERNAME"), os.Getenv("ES_PASSWORD")
	if sec.ESAPIKey != "" || sec.ESUsername != "" {
		apiKey, user, password = sec.ESAPIKey, sec.ESUsername, sec.ESPassword
	}
	tlsConf, err := ClientTLS(src.TLS, nil)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	u, err := url.Parse(src.URL)
	if err != nil {
		// Not err itself: url.Parse's error quotes the whole address,
		// password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("elasticsearch: address %s: %w", config.RedactURL(src.URL), err)
	}
	// The official client's transport under its esapi requests, without
	// the root package: that one also holds the typed API, 850 packages
	// (a third of vigil's source) that every build compiled for nothing.
	tp, err := elastictransport.New(elastictransport.Config{
		URLs:     []*url.URL{u},
		Username: user,
		Password: password,
		APIKey:   apiKey,
		// vigil retries what is worth retrying itself, with its own bounds:
		// the client's retry of 503 would hide concurrent-snapshot errors.
		DisableRetry: true,
		Transport:    &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConf},
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: client for %s: %w", config.RedactURL(src.URL), err)
	}
	es := genuineElasticsearch{tp}
	return &Elasticsearch{
		backup: name, src: src, es: es,
		Poll:  Backoff{First: 500 * time.Millisecond, Max: 10 * time.Second},
		Retry: Backoff{First: time.Second, Max: 30 * time.Second},
	}, nil
}

// genuineElasticsearch refuses a successful answer that does not say it
// comes from Elasticsearch, as the official client's product check does.
type genuineElasticsearch struct{ esapi.Transport }

func (g genuineElasticsearch) Perform(req *http.Request) (*http.Response, error) {
	res, err := g.Transport.Perform(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 && res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		res.Body.Close()
		return nil, errors.New("the server is not Elasticsearch: its answer lacks the X-Elastic-Product header")
	}
	return res, nil
}

// esError is an Elasticsearch error answer.
type esError struct {
	Status int
	Type   string
	Reason string
}

func (e *esError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Type, e.Reason, e.Status)
}

func isType(err error, types ...string) bool {
	var e *esError
	if !errors.As(err, &e) {
		return false
	}
	for _, t := range types {
		if e.Type == t {
			return true
		}
	}
	return false
}

func isStatus(err error, status int) bool {
	var e *esError
	return errors.As(err, &e) && e.Status == status
}

// callTimeout bounds one request that should answer at once; a cluster
// that hangs must not hold a run until its own deadline.
const callTimeout = time.Minute

// call performs a request and decodes a 2xx answer into out (which may be
// nil). It turns transport and error answers into clear errors; privilege
// names what the operation needs when the cluster says 403. The request
// gets callTimeout to answer.
func (t *Elasticsearch) call(ctx context.Context, op, privilege string, req esapi.Request, out any) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := t.callWait(cctx, op, privilege, req, out)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		return fmt.Errorf("elasticsearch: %s: %s did not answer within %s: %w", op, t.url(), callTimeout, err)
	}
	return err
}

// callWait is call for requests that wait on the cluster (a restore with
// wait_for_completion): only ctx bounds them.
func (t *Elasticsearch) callWait(ctx context.Context, op, privilege string, req esapi.Request, out any) error {
	res, err := req.Do(ctx, t.es)
	if err != nil {
		return t.transportError(op, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("elasticsearch: %s: read answer: %w", op, err)
	}
	if res.IsError() {
		e := &esError{Status: res.StatusCode}
		var doc struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(body, &doc) == nil && len(doc.Error) > 0 {
			var detail struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			}
			if json.Unmarshal(doc.Error, &detail) == nil {
				e.Type, e.Reason = detail.Type, detail.Reason
			} else {
				e.Reason = strings.Trim(string(doc.Error), `"`)
			}
		}
		switch res.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("elasticsearch: %s %s: authentication failed (HTTP 401); give vigil credentials with ES_API_KEY, or ES_USERNAME and ES_PASSWORD: %w", op, t.url(), e)
		case http.StatusForbidden:
			return fmt.Errorf("elasticsearch: %s: permission denied (HTTP 403); the user needs the %s cluster privilege: %w", op, privilege, e)
		}
		return fmt.Errorf("elasticsearch: %s: %w", op, e)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("elasticsearch: %s: decode answer: %w", op, err)
	}
	return nil
}

// url is the cluster's URL for messages, with any password masked.
func (t *Elasticsearch) url() string { return config.RedactURL(t.src.URL) }

func (t *Elasticsearch) transportError(op string, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("elasticsearch: %s: connection refused at %s: is Elasticsearch running and reachable from this node? %w", op, t.url(), err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("elasticsearch: %s: %s did not answer in time: %w", op, t.url(), err)
	}
	return fmt.Errorf("elasticsearch: %s at %s: %w", op, t.url(), err)
}

// clusterInfo is GET /.
type clusterInfo struct {
	ClusterName string `json:"cluster_name"`
	ClusterUUID string `json:"cluster_uuid"`
	Version     struct {
		Number string `json:"number"`
	} `json:"version"`
}

func (t *Elasticsearch) info(ctx context.Context) (*clusterInfo, error) {
	var ci clusterInfo
	if err := t.call(ctx, "cluster info", "monitor", esapi.InfoRequest{}, &ci); err != nil {
		return nil, err
	}
	return &ci, nil
}

// ensureRepository registers the repository when the spec declares one
// (idempotent) and verifies it; otherwise it must exist.
func (t *Elasticsearch) ensureRepository(ctx context.Context) error {
	repo := t.src.Repository
	rs := t.src.RepositorySettings
	if rs == nil {
		err := t.call(ctx, "get repository "+repo, "monitor_snapshot", esapi.SnapshotGetRepositoryRequest{Repository: []string{repo}}, nil)
		if isType(err, "repository_missing_exception") || isStatus(err, http.StatusNotFound) {
			return fmt.Errorf("elasticsearch: snapshot repository %q does not exist on %s; register it, or declare repository_settings in the spec so vigil does: %w", repo, t.url(), err)
		}
		return err
	}
	settings := map[string]any{}
	switch rs.Type {
	case "s3":
		settings["bucket"] = rs.Bucket
		if rs.BasePath != "" {
			settings["base_path"] = rs.BasePath
		}
		if rs.Client != "" {
			settings["client"] = rs.Client
		}
	case "fs":
		settings["location"] = rs.Location
	}
	body, _ := json.Marshal(map[string]any{"type": rs.Type, "settings": settings})
	if err := t.call(ctx, "register repository "+repo, "manage", esapi.SnapshotCreateRepositoryRequest{Repository: repo, Body: bytes.NewReader(body)}, nil); err != nil {
		return err
	}
	return t.call(ctx, "verify repository "+repo, "manage", esapi.SnapshotVerifyRepositoryRequest{Repository: repo}, nil)
}
