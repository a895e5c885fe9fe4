package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	Config *config.Config
	// Consul is the control Consul; nil for a standalone configuration,
	// whose records Book reads beside the backups, with no checks to keep.
	Consul  *consul.Client
	Book    record.Book
	Addr    string
	Log     hclog.Logger
	Metrics http.Handler
	// Published, when set, receives every refreshed view (metrics).
	Published func([]Status)
	// Version is shown on the pages.
	Version string
	// ConsulUI and Datacenter are the control Consul's address and
	// datacenter, NomadUI the Nomad address: the pages link to the checks
	// and jobs there ("" gives no link).
	ConsulUI, Datacenter, NomadUI string
}

// resyncEvery is how often the leader writes every check, changed or not.
const resyncEvery = 5 * time.Minute

// Serve runs `vigil serve`: it keeps every backup's health current from
// the run records, serves it over HTTP, and, while it leads the serve
// allocations, writes the Consul checks. It returns when ctx ends.
func Serve(ctx context.Context, o ServeOptions) error {
	w := &Watcher{Backups: o.Config.Backups, Book: o.Book, Since: time.Now(), Log: o.Log}
	if o.Consul != nil {
		w.Book, w.KV = &record.Consul{Client: o.Consul}, o.Consul.KV()
	}
	if err := w.Refresh(ctx); err != nil {
		o.Log.Warn("first read of the run records failed; retrying", "error", err)
	}
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen %s: %w", o.Addr, err)
	}
	host, portText, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(portText)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	page := &Page{Watcher: w, Book: w.Book, Config: o.Config.ID, Version: o.Version, ConsulUI: o.ConsulUI, Datacenter: o.Datacenter,
		Node: o.Config.Serve.Node, NomadUI: o.NomadUI, Namespace: o.Config.Nomad.Namespace}
	if o.Consul == nil {
		page.ConsulUI = "" // standalone: no checks to link to
	}
	srv := Server(o.Addr, Handler(w, o.Metrics, page))
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error("http server stopped", "error", err)
		}
	}()
	o.Log.Info("serving backup status", "addr", l.Addr().String(), "backups", len(o.Config.Backups))

	latest := make(chan []Status, 1)
	go w.Watch(ctx, func(st []Status) {
		if o.Published != nil {
			o.Published(st)
		}
		select {
		case <-latest:
		default:
		}
		latest <- st
	})
	if o.Consul == nil {
		<-ctx.Done() // standalone: the page and the metrics, no checks
		return nil
	}
	node := o.Config.Serve.Node
	holder, _ := os.Hostname()
	Lead(ctx, o.Consul, LeaderKey(node), fmt.Sprintf("%s %s", holder, os.Getenv("NOMAD_ALLOC_ID")), o.Log, func(lctx context.Context) {
		// A new leader writes every check once and removes stale ones;
		// after that only checks that changed, and all of them again every
		// resyncEvery: a check changed behind its back (a restored Consul
		// snapshot bringing back an old "passing") is put right.
		var written Written
		var full time.Time
		sync := func(st []Status) {
			if time.Since(full) >= resyncEvery {
				written = nil
			}
			fresh := written == nil
			if fresh {
				written, full = Written{}, time.Now()
			}
			changed := written.Changed(Checks(node, st))
			if len(changed) == 0 {
				return
			}
			if err := SyncChecks(lctx, o.Consul.Catalog(), node, host, port, changed); err != nil {
				o.Log.Error("writing the Consul checks failed", "error", err)
				written = nil // write them all again
				return
			}
			if fresh {
				if err := RemoveStale(lctx, o.Consul.Catalog(), o.Consul.Health(), node, st); err != nil {
					o.Log.Warn("removing stale checks failed", "error", err)
					written = nil
				}
			}
		}
		if w.Ready() {
			sync(w.Statuses())
		}
		for {
			select {
			case <-lctx.Done():
				return
			case st := <-latest:
				sync(st)
			}
		}
	})
	return nil
}
