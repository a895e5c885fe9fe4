//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestServersUp checks each server answers through its real API.
func TestServersUp(t *testing.T) {
	needStack(t)
	ctx := testContext(t, time.Minute)

	cc, err := stack.Consul.Client()
	if err != nil {
		t.Fatal(err)
	}
	if leader, err := cc.Status().Leader(); err != nil || leader == "" {
		t.Errorf("consul leader: %q %v", leader, err)
	}

	vc, err := stack.Vault.Root()
	if err != nil {
		t.Fatal(err)
	}
	if h, err := vc.Sys().Health(); err != nil || h.Sealed || !h.Initialized {
		t.Errorf("vault health: %+v %v", h, err)
	}

	if _, err := stack.MinIO.RootClient().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(stack.MinIO.Bucket)}); err != nil {
		t.Errorf("minio bucket: %v", err)
	}

	ec, err := stack.Etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	if _, err := ec.Put(ctx, "e2e/ping", "pong"); err != nil {
		t.Errorf("etcd put: %v", err)
	}
	if r, err := ec.Get(ctx, "e2e/ping"); err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "pong" {
		t.Errorf("etcd get: %v %v", r, err)
	}

	nc, err := stack.Nomad.Client()
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
		t.Fatalf("nomad nodes: %v %v", nodes, err)
	}
	for _, addr := range []string{stack.Consul.Addr, stack.Vault.Addr, stack.MinIO.Addr, stack.Nomad.Addr, hostPort(stack.Etcd.Endpoint)} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("server bound to %s, not loopback", addr)
		}
	}
}
