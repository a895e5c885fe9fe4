package main

import (
	"runtime/debug"
	"testing"
)

func TestGrowMemoryLimit(t *testing.T) {
	was := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(defaultMemoryLimit)
	growMemoryLimit(17 << 20)
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit+17<<20 {
		t.Errorf("limit %d, want %d", got, defaultMemoryLimit+17<<20)
	}

	// An operator's GOMEMLIMIT stays as given.
	t.Setenv("GOMEMLIMIT", "100MiB")
	debug.SetMemoryLimit(100 << 20)
	growMemoryLimit(17 << 20)
	if got := debug.SetMemoryLimit(-1); got != 100<<20 {
		t.Errorf("limit %d with GOMEMLIMIT set, want it unchanged", got)
	}
}
