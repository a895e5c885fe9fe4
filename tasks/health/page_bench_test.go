package health

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

// BenchmarkFleetPage renders GET / for a thousand backups with full
// trends (make bench measures it through vigil serve too).
func BenchmarkFleetPage(b *testing.B) {
	w := &Watcher{statuses: map[string]Status{}, loaded: true}
	w.init()
	now := time.Now()
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("kv-%05d", i)
		end := now.Add(-time.Minute)
		last := &record.Run{Backup: name, Kind: record.KindBackup, Status: record.Succeeded, StartedAt: end.Add(-time.Second), FinishedAt: &end, Size: 1 << 20}
		w.statuses[name] = Status{Backup: name, Type: "consul_kv", State: Passing, Last: last, NextExpected: now.Add(time.Hour),
			Output: "succeeded at 2026-11-30T03:14:07Z, 735 B, " + name + "/20261130T031407.920Z.json.zst"}
		var history []record.Run
		for j := trendPoints; j > 0; j-- {
			start := now.Add(-time.Duration(j) * time.Hour)
			end := start.Add(time.Duration(j) * time.Second)
			history = append(history, record.Run{Backup: name, Kind: record.KindBackup, Status: record.Succeeded, StartedAt: start, FinishedAt: &end, Size: int64(1<<20 + j*100)})
		}
		w.keep(name, 0, history)
	}
	p := &Page{Watcher: w, Config: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		p.Fleet(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		b.ReportMetric(float64(rec.Body.Len())/(1<<20), "MiB/page")
	}
}
