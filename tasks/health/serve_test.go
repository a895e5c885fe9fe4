package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/store/local"
)

// Standalone, serve reads each backup's records beside its backups (no
// Consul, no checks) and serves their status; a record written later is
// seen on the next read.
func TestServeStandalone(t *testing.T) {
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	book := &record.Store{S: s}
	cfg := &config.Config{Backups: []config.Backup{{Name: "kv", Type: config.TypeConsulKV, Schedule: "0 * * * *"}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ServeOptions{Config: cfg, Book: record.Routed{"kv": book}, Addr: addr, Log: hclog.NewNullLogger()})
	}()
	get := func() (int, []Status) {
		resp, err := http.Get(fmt.Sprintf("http://%s/v1/status", addr))
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var st []Status
		json.NewDecoder(resp.Body).Decode(&st)
		return resp.StatusCode, st
	}
	var code int
	var st []Status
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, st = get(); code != 0 && len(st) == 1 {
			break
		}
	}
	if len(st) != 1 || st[0].Backup != "kv" || st[0].Last != nil {
		t.Fatalf("status before any run: %d %+v", code, st)
	}
	finished := time.Now()
	run := record.Run{Backup: "kv", Kind: record.KindBackup, ID: "r1", Status: record.Failed, StartedAt: finished.Add(-time.Second), FinishedAt: &finished, Error: "boom"}
	if err := book.Finish(ctx, run); err != nil {
		t.Fatal(err)
	}
	w := &Watcher{Backups: cfg.Backups, Book: record.Routed{"kv": book}, Log: hclog.NewNullLogger()}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Get("kv"); got.Last == nil || got.Last.Status != record.Failed || got.Healthy {
		t.Errorf("a failed run read from the store: %+v", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop with its context")
	}
}
