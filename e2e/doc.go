// Package e2e drives the real vigil binary against real Nomad, Consul,
// Vault, etcd and MinIO started by e2e/harness. The tests carry the e2e
// build tag so that `go test ./...` stays fast: run them with `make e2e`
// (or `go test -tags e2e ./e2e/...` after `make tools`).
package e2e
