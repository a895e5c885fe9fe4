package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// sample is one measured run.
type sample struct {
	d       time.Duration
	peakRSS int64 // bytes; 0 when not measured
	written int64 // bytes the process wrote to disk
}

type series []sample

func (s series) durations() []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = x.d
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (s series) median() time.Duration {
	d := s.durations()
	if len(d) == 0 {
		return 0
	}
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// spread is (max-min)/median: the machine noise seen.
func (s series) spread() float64 {
	d := s.durations()
	if len(d) < 2 || s.median() == 0 {
		return 0
	}
	return float64(d[len(d)-1]-d[0]) / float64(s.median())
}

func (s series) minMax() string {
	d := s.durations()
	if len(d) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f–%.2f", d[0].Seconds(), d[len(d)-1].Seconds())
}

func (s series) maxRSS() int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.peakRSS)
	}
	return m
}

func (s series) maxWritten() int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.written)
	}
	return m
}

// row is one line of the results table.
type row struct {
	scenario string
	cells    []string
}

type table struct {
	rows  []row
	notes []string
}

func (t *table) add(scenario string, cells ...string) {
	t.rows = append(t.rows, row{scenario, cells})
}

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tsize\traw upload (a)\ttwo-step (b)\tvigil (c)\tc/a\tc/b\tvigil peak RSS\tvigil disk writes\truns (min–max s)")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.scenario, strings.Join(r.cells, "\t"))
	}
	tw.Flush()
	for _, n := range t.notes {
		fmt.Fprintln(w, n)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
