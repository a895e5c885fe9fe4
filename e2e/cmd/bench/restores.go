package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	"github.com/vigil-backup/vigil/tasks/manifest"
)

// toolRestore is how an operator restores a downloaded snapshot file with
// the tool's own command: the program, its environment and its arguments.
type toolRestore struct {
	env  []string
	bin  string
	args func(file string) []string
	// cleanup, when set, runs after every restore of either kind (an
	// etcd data directory must not exist before the next).
	cleanup func()
}

// restoreAgainstTwoStep compares vigil's restore of a backup's newest
// object (c) with what an operator would run without vigil (b): download
// the object to a file with the SDK, `sha256sum -c` it against the
// manifest, then the tool's own restore of the file. It also measures
// that last step alone (t: the tool restoring a file already on disk),
// the floor of any restore into this server: c/t says how close vigil
// comes to it. vigilArgs follow `vigil restore -config SPEC -backup NAME
// -latest`. goal is the c/b line the issue sets for the row.
func (b *bench) restoreAgainstTwoStep(row string, size int, spec, backup string, vigilEnv []string, vigilArgs []string, tool toolRestore, goal float64) error {
	fmt.Printf("== restore %s against the two-step restore\n", row)
	m, err := b.newestManifest(backup)
	if err != nil {
		return err
	}
	if m.SHA256 == "" {
		return fmt.Errorf("%s: the bench restores plain objects; this one has no sha256", backup)
	}
	file := filepath.Join(b.dir, "two-step-restore.snap")
	sums := filepath.Join(b.dir, "two-step-restore.sha256")
	if err := os.WriteFile(sums, []byte(m.SHA256+"  "+file+"\n"), 0o644); err != nil {
		return err
	}
	local := filepath.Join(b.dir, "restore-from-disk.snap")
	if _, err := measure(b.env(), self(), "-child-download", b.minio.Endpoint(), m.Object, local); err != nil {
		return err
	}
	defer os.Remove(local)
	clean := func() {
		if tool.cleanup != nil {
			tool.cleanup()
		}
	}
	twoStep := func() (sample, error) {
		defer clean()
		defer os.Remove(file)
		var total sample
		for _, step := range [][]string{
			{self(), "-child-download", b.minio.Endpoint(), m.Object, file},
			{"sha256sum", "-c", "--quiet", sums},
			append([]string{tool.bin}, tool.args(file)...),
		} {
			env := b.env()
			if step[0] == tool.bin {
				env = tool.env
			}
			s, err := measure(env, step[0], step[1:]...)
			if err != nil {
				return s, fmt.Errorf("%s: %w", filepath.Base(step[0]), err)
			}
			total.d += s.d
			total.peakRSS = max(total.peakRSS, s.peakRSS)
			total.written += s.written
		}
		return total, nil
	}
	args := append([]string{"restore", "-config", spec, "-backup", backup, "-latest"}, vigilArgs...)
	res, err := compare([]variant{
		{"b", twoStep},
		{"c", func() (sample, error) { defer clean(); return measure(vigilEnv, b.vigil, args...) }},
		{"t", func() (sample, error) { defer clean(); return measure(tool.env, tool.bin, tool.args(local)...) }},
	})
	if err != nil {
		return err
	}
	cb := roundRatios(res["c"], res["b"])
	b.table.add("restore "+row+" (two-step restore as b)", fmt.Sprint(size), "", secs(res["b"].median()), secs(res["c"].median()), "", cb.String(),
		mib(res["c"].maxRSS()), mib(res["c"].maxWritten()), fmt.Sprintf("b %s, c %s, t %s", res["b"].minMax(), res["c"].minMax(), res["t"].minMax()))
	b.table.note("restore %s: the tool's own restore of a file on disk (t) takes %s; vigil's restore is %s of it", row,
		secs(res["t"].median()), roundRatios(res["c"], res["t"]))
	b.table.atMost(fmt.Sprintf("restore %s, c/b <= %.2f", row, goal), cb, goal)
	b.table.rssAtMost(fmt.Sprintf("restore %s, vigil peak RSS <= 64 MiB", row), res["c"], 64<<20)
	return nil
}

// newestManifest is the newest manifest of a bench backup in MinIO.
func (b *bench) newestManifest(backup string) (*manifest.Manifest, error) {
	ctx := context.Background()
	objs, err := b.minio.List(ctx, backup+"/")
	if err != nil {
		return nil, err
	}
	newest := ""
	for _, o := range objs {
		if strings.HasSuffix(o.Key, manifest.Suffix) && o.Key > newest {
			newest = o.Key
		}
	}
	if newest == "" {
		return nil, fmt.Errorf("no manifest under %s/", backup)
	}
	out, err := b.minio.RootClient().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(newest)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, err
	}
	return manifest.Parse(body)
}

// settle waits, outside any measured time, until read succeeds again
// after a restore (a server answers a moment later), as an operator would
// before the next restore.
func settle(read func() error) func() {
	return func() {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if read() == nil {
				return
			}
		}
	}
}
