package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/tasks/record"
)

// seedFleet writes the records n backups (kv-00000...) have after weeks of
// hourly runs, as the writer leaves them: the last run, the registration,
// and the newest runs of the history (record.DefaultHistory); every tenth
// backup also has a daily drill. A few last runs failed. It returns the KV
// bytes (keys and values) per backup.
func seedFleet(ctx context.Context, cc *consul.Client, n int, now time.Time) (int, error) {
	var mu sync.Mutex
	total := 0
	work := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ops, bytes := fleetRecords(i, now)
				for len(ops) > 0 {
					k := min(len(ops), 64) // Consul's limit of operations per transaction
					ok, resp, _, err := cc.Txn().Txn(ops[:k], (&consul.QueryOptions{}).WithContext(ctx))
					if err != nil || !ok {
						errs <- fmt.Errorf("seed backup %d: %v %v", i, err, resp)
						return
					}
					ops = ops[k:]
				}
				mu.Lock()
				total += bytes
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return 0, err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return total / n, nil
}

// fleetRecords are backup i's records and their size in the KV.
func fleetRecords(i int, now time.Time) (consul.TxnOps, int) {
	name := fmt.Sprintf("kv-%05d", i)
	rng := mrand.New(mrand.NewPCG(uint64(i), 7))
	// The newest run is at the backup's minute (its schedule is "i%60 *
	// * * *"), the hour before now at the latest.
	lastAt := now.Truncate(time.Hour).Add(time.Duration(i%60) * time.Minute)
	if lastAt.After(now) {
		lastAt = lastAt.Add(-time.Hour)
	}
	size := int64(200<<10 + rng.IntN(2<<20))
	var ops consul.TxnOps
	bytes := 0
	set := func(key string, v []byte) {
		ops = append(ops, &consul.TxnOp{KV: &consul.KVTxnOp{Verb: consul.KVSet, Key: key, Value: v}})
		bytes += len(key) + len(v)
	}
	var hist []record.Run
	for h := record.DefaultHistory - 1; h >= 0; h-- {
		start := lastAt.Add(-time.Duration(h) * time.Hour)
		r := fleetRun(name, record.KindBackup, start, size, rng)
		size += int64(rng.IntN(4096))
		if h == 0 && i%97 == 3 {
			r.Status, r.Error, r.Object, r.Size, r.SHA256 = record.Failed, "consul: kv export \"app/\": context deadline exceeded", "", 0, ""
		}
		hist = append(hist, r)
		if i%10 == 0 && start.Hour() == 4 {
			d := fleetRun(name, record.KindVerify, start.Add(10*time.Minute), 0, rng)
			d.Verify = &record.Verify{BackupID: r.ID, BackupTime: *r.FinishedAt, RestoreTime: time.Duration(800+rng.IntN(400)) * time.Millisecond,
				BackupAge: 10*time.Minute + time.Duration(rng.IntN(60))*time.Second}
			hist = append(hist, d)
			b, _ := json.Marshal(d)
			set(record.KVPrefix+name+"/verify", b)
		}
	}
	// The writer keeps the newest DefaultHistory runs.
	hist = hist[max(0, len(hist)-record.DefaultHistory):]
	var last record.Run
	for _, r := range hist {
		b, _ := json.Marshal(r)
		set(record.HistoryKey(r), b)
		if r.Kind == record.KindBackup {
			last = r
		}
	}
	b, _ := json.Marshal(last)
	set(record.KVPrefix+name+"/last", b)
	set(record.KVPrefix+name+"/registered", []byte(now.Add(-30*24*time.Hour).Format(time.RFC3339Nano)))
	return ops, bytes
}

// fleetRun is a finished run as vigil writes it.
func fleetRun(name, kind string, start time.Time, size int64, rng *mrand.Rand) record.Run {
	end := start.Add(time.Duration(400+rng.IntN(3000)) * time.Millisecond)
	id := start.UTC().Format("20060102T150405.000Z")
	r := record.Run{Backup: name, Kind: kind, ID: id, Status: record.Succeeded, ExitCode: 0, StartedAt: start.UTC(), FinishedAt: &end,
		AllocID: uuid(), Node: "client-" + strconv.Itoa(rng.IntN(40))}
	if kind == record.KindBackup {
		sum := make([]byte, 32)
		rand.Read(sum)
		r.Object, r.Size, r.SHA256, r.Compression = name+"/"+id+".json.zst", size, hex.EncodeToString(sum), "zstd"
		r.Source = map[string]string{"keys": strconv.Itoa(1000 + rng.IntN(5000)), "prefix": "app/" + name + "/", "raft_index": strconv.Itoa(100000 + rng.IntN(900000))}
		r.Retention = &record.Retention{Kept: 24, Deleted: []string{name + "/" + start.Add(-24*time.Hour).UTC().Format("20060102T150405.000Z")}}
	}
	return r
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
