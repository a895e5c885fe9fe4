// Package record keeps the record of each run: on the control Consul's KV,
// or as JSON files beside the backups in standalone mode. Health, status
// and metrics read these records. A record never holds a secret.
package record

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-backup/vigil/tasks/lock"
)

// Run statuses. A backup run whose backup was written (it has a manifest)
// is Succeeded, or DrillFailed / RetentionFailed when a stage after the
// backup failed: the backup stands, the failure is reported as what it is.
const (
	Running         = "running"
	Succeeded       = "succeeded"
	Failed          = "failed"
	Skipped         = "skipped"
	DrillFailed     = "drill_failed"
	RetentionFailed = "retention_failed"
	// Partial: a backup with several destinations was written whole to
	// some and failed at others (Copies says which and why).
	Partial = "partial"
)

// Run kinds.
const (
	KindBackup = "backup"
	KindVerify = "verify"
)

// DefaultHistory is how many past runs a book keeps per backup unless told
// otherwise (the spec's consul { run_history }).
const DefaultHistory = 200

// limit is the history a book keeps: n, or DefaultHistory.
func limit(n int) int {
	if n > 0 {
		return n
	}
	return DefaultHistory
}

// Run is one run of a backup or of a drill.
type Run struct {
	Backup     string     `json:"backup"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	ExitCode   int        `json:"exit_code"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      string     `json:"error,omitempty"`
	Object     string     `json:"object,omitempty"`
	Size       int64      `json:"size,omitempty"`
	SHA256     string     `json:"sha256,omitempty"`
	// CRC32C stands for SHA256 for an encrypted object (manifest.CRC32C).
	CRC32C      string `json:"crc32c,omitempty"`
	Compression string `json:"compression,omitempty"`
	// Source identifies what was backed up (raft index, etcd revision,
	// Elasticsearch snapshot and shards), as in the manifest.
	Source    map[string]string `json:"source,omitempty"`
	AllocID   string            `json:"alloc_id,omitempty"`
	Node      string            `json:"node,omitempty"`
	Holder    *lock.Holder      `json:"holder,omitempty"`
	Retention *Retention        `json:"retention,omitempty"`
	Verify    *Verify           `json:"verify,omitempty"`
	// Drill is the drill a backup run made of its own backup
	// (after_backup), when it made one.
	Drill *Drill `json:"drill,omitempty"`
	// Copies are what each destination of a backup with several holds
	// after the run, in the spec's order; nil with one destination.
	Copies []Copy `json:"copies,omitempty"`
}

// Copy is one destination's outcome in a backup run.
type Copy struct {
	// Storage is the storage's name, Kind its kind (s3, gcs...).
	Storage string `json:"storage"`
	Kind    string `json:"kind"`
	// Good: the copy is whole and its manifest written.
	Good  bool   `json:"good"`
	Error string `json:"error,omitempty"`
	// Retention is what retention did in this storage.
	Retention *Retention `json:"retention,omitempty"`
}

// FailedCopies are the copies that are not good, in order.
func (r *Run) FailedCopies() []Copy {
	var out []Copy
	for _, c := range r.Copies {
		if !c.Good {
			out = append(out, c)
		}
	}
	return out
}

// Drill is the outcome of the drill a backup run made after its backup;
// the drill's full record is its own verify run.
type Drill struct {
	RunID  string `json:"run_id"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

// BackupWritten reports whether the run's backup was written: it succeeded,
// whatever a stage after it did, in at least one destination.
func (r *Run) BackupWritten() bool {
	return r.Kind == KindBackup && (r.Status == Succeeded || r.Status == DrillFailed || r.Status == RetentionFailed || r.Status == Partial)
}

// Duration is how long a finished run took.
func (r *Run) Duration() time.Duration {
	if r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Retention is what a run's retention pass did.
type Retention struct {
	Kept    int      `json:"kept"`
	Deleted []string `json:"deleted,omitempty"`
	// Due are backups the policy lets go whose object lock has not ended:
	// a later run deletes them.
	Due []string `json:"due,omitempty"`
	// Quarantined are manifests kept because they cannot be read: never
	// deleted by retention (vigil prune -unreadable removes them).
	Quarantined []string `json:"quarantined,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// Verify is the result of a restore drill.
type Verify struct {
	BackupID    string        `json:"backup_id"`
	BackupTime  time.Time     `json:"backup_time"`
	RestoreTime time.Duration `json:"restore_duration_ns"`
	BackupAge   time.Duration `json:"backup_age_ns"`
	// Storage is the storage the drill read the backup from.
	Storage string         `json:"storage,omitempty"`
	Checks  []Check        `json:"checks"`
	Values  map[string]any `json:"values,omitempty"`
}

// Check is one assertion of a drill and what it found.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Book stores run records.
//
// Error contract: Current, Last and Registered return nil and no error when
// there is no such record; other errors mean the book could not be read.
// Each kind (backup, verify) has its own run in progress, so a drill never
// hides a running backup.
type Book interface {
	// Start records a run in progress, as the current run of its kind.
	Start(ctx context.Context, r Run) error
	// Finish records a finished run as the last one of its kind and clears
	// the current run of its kind if it is this one; then it adds the run
	// to the history. The first two happen before (or with) the history,
	// so a failed history write never leaves a finished run looking like
	// one still running, or one that died.
	Finish(ctx context.Context, r Run) error
	// Skip adds a skipped run to the history only.
	Skip(ctx context.Context, r Run) error
	Current(ctx context.Context, backup, kind string) (*Run, error)
	Last(ctx context.Context, backup, kind string) (*Run, error)
	// History lists past runs, oldest first.
	History(ctx context.Context, backup string) ([]Run, error)
	// Register records when a backup was first registered (its job), if
	// no earlier time is recorded; Registered reads it. A backup that
	// never ran is overdue from its first expected run after this time.
	Register(ctx context.Context, backup string, at time.Time) error
	Registered(ctx context.Context, backup string) (*time.Time, error)
}

// historyName is a history entry's name: sortable by start, unique per run.
func historyName(r Run) string {
	return r.StartedAt.UTC().Format("20060102T150405.000000000Z") + "-" + r.Kind + "-" + r.Status + "-" + shortID(r)
}

func shortID(r Run) string {
	if r.AllocID != "" && len(r.AllocID) >= 8 {
		return r.AllocID[:8]
	}
	return r.ID
}

func sortRuns(rs []Run) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].StartedAt.Before(rs[j].StartedAt) })
}

// HumanBytes writes a size as 1.5 MiB.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Decode reads one record as the books write it.
func Decode(b []byte) (*Run, error) {
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("record: decode: %w", err)
	}
	return &r, nil
}

// Checksum is the object's checksum as people read it, as
// manifest.Manifest.Checksum gives it.
func (r *Run) Checksum() string {
	if r.CRC32C != "" {
		return "crc32c:" + r.CRC32C
	}
	return r.SHA256
}
