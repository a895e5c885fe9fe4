package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscred "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vigil-backup/vigil/e2e/harness"
	s3store "github.com/vigil-backup/vigil/tasks/store/s3"
)

// child runs one upload or download in its own process, so its memory
// and disk writes are measured apart from the bench driver:
//
//	-child-upload ENDPOINT FILE KEY
//	-child-download ENDPOINT KEY FILE
//	-child-upload-gcs ENDPOINT BUCKET FILE KEY
//	-child-upload-azure CONTAINER FILE KEY (AZURE_STORAGE_CONNECTION_STRING)
//	-child-source KIND ADDR (limits.go)
func child(args []string) int {
	ctx := context.Background()
	switch {
	case len(args) == 5 && args[0] == "-child-upload-gcs":
		return childResult(uploadGCS(ctx, args[1], args[2], args[3], args[4]))
	case len(args) == 4 && args[0] == "-child-upload-azure":
		return childResult(uploadAzure(ctx, args[1], args[2], args[3]))
	case len(args) == 3 && args[0] == "-child-source":
		return childResult(readSource(ctx, args[1], args[2]))
	case len(args) != 4:
		fmt.Fprintln(os.Stderr, "bench child: bad arguments")
		return 2
	}
	s3c := s3store.NewClient(s3store.Endpoint{Endpoint: args[1], Region: "us-east-1", PathStyle: true},
		awscred.NewStaticCredentialsProvider(harness.MinIORootUser, harness.MinIORootPassword, ""))
	var err error
	switch args[0] {
	case "-child-upload":
		var f *os.File
		if f, err = os.Open(args[2]); err == nil {
			defer f.Close()
			st, _ := f.Stat()
			// The same store and client settings vigil uses.
			err = (&s3store.Store{Client: s3c, Bucket: harness.Bucket}).Put(ctx, args[3], f, st.Size())
		}
	case "-child-download":
		var out *s3.GetObjectOutput
		if out, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(harness.Bucket), Key: aws.String(args[2])}); err == nil {
			var f *os.File
			if f, err = os.Create(args[3]); err == nil {
				_, err = io.Copy(f, out.Body)
				f.Close()
			}
			out.Body.Close()
		}
	default:
		err = fmt.Errorf("unknown child %s", args[0])
	}
	return childResult(err)
}

func childResult(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

// measure runs a command and returns its wall time, peak RSS (VmHWM,
// polled every 20 ms; not rusage's maxrss, which Linux also raises to
// the RSS of the bench process the child was vforked from) and the bytes it wrote to disk (rusage output blocks). A
// vigil run that skipped (its lock held) is an error, not a fast sample.
func measure(env []string, name string, args ...string) (sample, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if filepath.Base(name) == "vigil" && *vigilEnv != "" {
		cmd.Env = append(slices.Clone(env), strings.Split(*vigilEnv, ",")...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	busy, start := machineBusy(), time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	peak, err := harness.PeakRSS(cmd)
	s := sample{d: time.Since(start), peakRSS: peak, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), busy: machineBusy() - busy}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.written = ru.Oublock * 512
	}
	if err == nil && bytes.HasPrefix(stdout.Bytes(), []byte("skipped:")) {
		err = fmt.Errorf("the run was skipped: %s", bytes.TrimSpace(stdout.Bytes()))
	}
	if err != nil {
		return s, fmt.Errorf("%s %v: %w\n%s", name, args, err, stderr.String())
	}
	return s, nil
}

// withServerCPU adds the CPU time the server process pid spent during
// run: on a machine whose cores vigil shares with MinIO, it is half of
// what bounds a transfer.
func withServerCPU(pid int, run func() (sample, error)) (sample, error) {
	before := procCPU(pid)
	s, err := run()
	s.serverCPU = procCPU(pid) - before
	return s, err
}

// procCPU is a process's user and system time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which ends with the last ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// self is this binary, for the child processes.
func self() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
