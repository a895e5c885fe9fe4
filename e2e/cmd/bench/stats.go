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
	// cpu is the process's user and system time; serverCPU the server's
	// (MinIO's) over the same run, where measured; busy the whole
	// machine's CPU time over the run (every core, every process).
	cpu, serverCPU, busy time.Duration
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

// medianCPU is the median of the process's and of the server's CPU time.
func (s series) medianCPU() (time.Duration, time.Duration) {
	var c, sv series
	for _, x := range s {
		c, sv = append(c, sample{d: x.cpu}), append(sv, sample{d: x.serverCPU})
	}
	return c.median(), sv.median()
}

func (s series) maxWritten() int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.written)
	}
	return m
}

// ratios is one ratio per round. A round runs every variant once, back to
// back, so its ratio compares runs made under the same machine load.
type ratios []float64

// roundRatios divides num's round i by den's round i.
func roundRatios(num, den series) ratios {
	var out ratios
	for i := 0; i < min(len(num), len(den)); i++ {
		if den[i].d > 0 {
			out = append(out, float64(num[i].d)/float64(den[i].d))
		}
	}
	return out
}

// speeds inverts ratios: how many times faster num is than den.
func (r ratios) inverse() ratios {
	out := make(ratios, len(r))
	for i, x := range r {
		out[i] = 1 / x
	}
	return out
}

func (r ratios) sorted() []float64 {
	s := append([]float64(nil), r...)
	sort.Float64s(s)
	return s
}

func (r ratios) median() float64 {
	s := r.sorted()
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// String is the median with the range over the rounds: "0.76 (0.71–0.80)".
func (r ratios) String() string {
	s := r.sorted()
	if len(s) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", r.median(), s[0], s[len(s)-1])
}

// met counts the rounds for which ok holds.
func (r ratios) met(ok func(float64) bool) int {
	n := 0
	for _, x := range r {
		if ok(x) {
			n++
		}
	}
	return n
}

// goal is one line of the goals report.
type goal struct {
	name   string
	met, n int
	values string
}

// row is one line of the results table.
type row struct {
	scenario string
	cells    []string
}

type table struct {
	rows   []row
	limits []row
	notes  []string
	goals  []goal
}

// limit adds a line to the limits table (limits.go).
func (t *table) limit(scenario string, cells ...string) {
	t.limits = append(t.limits, row{scenario, cells})
}

// atMost and atLeast record a goal on per-round ratios.
func (t *table) atMost(name string, r ratios, limit float64) {
	t.goals = append(t.goals, goal{name, r.met(func(x float64) bool { return x <= limit }), len(r), r.String()})
}

func (t *table) atLeast(name string, r ratios, limit float64) {
	t.goals = append(t.goals, goal{name, r.met(func(x float64) bool { return x >= limit }), len(r), r.String()})
}

// rssAtMost records a peak-RSS goal: every run of s within limit bytes.
func (t *table) rssAtMost(name string, s series, limit int64) {
	met := 0
	for _, x := range s {
		if x.peakRSS <= limit {
			met++
		}
	}
	t.goals = append(t.goals, goal{name, met, len(s), "max " + mib(s.maxRSS())})
}

func (t *table) add(scenario string, cells ...string) {
	t.rows = append(t.rows, row{scenario, cells})
}

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tsize\traw upload (a)\ttwo-step (b)\tvigil (c)\tc/a median (min–max)\tc/b median (min–max)\tvigil peak RSS\tvigil disk writes\truns (min–max s)")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.scenario, strings.Join(r.cells, "\t"))
	}
	tw.Flush()
	if len(t.limits) > 0 {
		fmt.Fprintln(w, "\nlimits: s = the source alone into io.Discard; limit = max(s, a) per round; CPU floor = the machine's busy CPU time during vigil's run / cores")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "scenario\tsource alone (s)\traw upload (a)\tlimit\tvigil (c)\tc/limit median (min–max)\tCPU floor\tfloor/c")
		for _, r := range t.limits {
			fmt.Fprintf(tw, "%s\t%s\n", r.scenario, strings.Join(r.cells, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, n := range t.notes {
		fmt.Fprintln(w, n)
	}
	if len(t.goals) > 0 {
		fmt.Fprintln(w, "\ngoals (median, min–max over the runs):")
	}
	for _, g := range t.goals {
		fmt.Fprintf(w, "  %s: met in %d of %d runs; %s\n", g.name, g.met, g.n, g.values)
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
