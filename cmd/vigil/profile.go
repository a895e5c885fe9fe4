package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// startProfiles writes CPU and heap profiles into $VIGIL_PROFILE_DIR when
// it is set; the benchmarks use it to see where time and bytes go.
func startProfiles() func() {
	dir := os.Getenv("VIGIL_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return func() {}
	}
	_ = pprof.StartCPUProfile(cpu)
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if f, err := os.Create(filepath.Join(dir, "heap.pprof")); err == nil {
			runtime.GC()
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
}
