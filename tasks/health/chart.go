package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

// chart is an inline SVG line chart and its text equivalent: the page
// needs no script and no external asset, and a screen reader reads Desc.
type chart struct {
	ID, Title, Desc string
	Width, Height   int
	Lines           []line
	// Low and High label the value axis (full charts only).
	Low, High string
}

type line struct {
	Class, Points string
	// One value has no line: a dot at (X, Y) on a dashed guide from the
	// left edge, labelled with its value, so it reads as one run and not
	// as a stray mark.
	Dot            bool
	X, Y           float64
	Label          string
	LabelX, LabelY float64
}

// series is one quantity over runs.
type series struct {
	name   string
	class  string
	value  func(point) (float64, bool)
	format func(float64) string
}

var (
	sizeSeries = series{"size", "size", func(p point) (float64, bool) { return float64(p.Size), p.Size > 0 },
		func(v float64) string { return record.HumanBytes(int64(v)) }}
	durationSeries = series{"duration", "duration", func(p point) (float64, bool) { return float64(p.Duration), p.Duration > 0 },
		func(v float64) string { return short(time.Duration(v)) }}
	rtoSeries = series{"RTO (restore time)", "rto", func(p point) (float64, bool) { return float64(p.RTO), p.RTO > 0 },
		func(v float64) string { return short(time.Duration(v)) }}
	rpoSeries = series{"RPO (backup age when drilled)", "rpo", func(p point) (float64, bool) { return float64(p.RPO), p.RPO > 0 },
		func(v float64) string { return short(time.Duration(v)) }}
)

// values are the points s has a value for.
func (s series) values(ps []point) []float64 {
	var out []float64
	for _, p := range ps {
		if v, ok := s.value(p); ok {
			out = append(out, v)
		}
	}
	return out
}

// polyline scales vs into a w×h box (a little inset) and returns the
// points; each series gets its own scale.
func polyline(vs []float64, w, h int) string {
	if len(vs) == 0 {
		return ""
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	b := make([]byte, 0, len(vs)*12)
	for i, v := range vs {
		x := 1.0
		if len(vs) > 1 {
			x = 1 + float64(i)*float64(w-2)/float64(len(vs)-1)
		}
		y := float64(h) / 2
		if hi > lo {
			y = float64(h-2) - (v-lo)/(hi-lo)*float64(h-4)
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, x, 'f', 1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, y, 'f', 1, 64)
	}
	return string(b)
}

// describe is a series in words: latest, range, and how many runs.
func (s series) describe(vs []float64) string {
	if len(vs) == 0 {
		return "no " + s.name + " recorded"
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	return fmt.Sprintf("%s: latest %s, lowest %s, highest %s over %d runs", s.name, s.format(vs[len(vs)-1]), s.format(lo), s.format(hi), len(vs))
}

// sparkline is the fleet row's small chart: size and duration of the
// recent backup runs, each on its own scale.
func sparkline(name string, ps []point) chart {
	c := chart{ID: "spark-" + name, Title: "Size and duration of the recent runs of " + name, Width: 120, Height: 28}
	var words []string
	for _, s := range []series{sizeSeries, durationSeries} {
		vs := s.values(ps)
		if l, ok := draw(s, vs, c.Width, c.Height); ok {
			if len(c.Lines) > 0 && l.Dot {
				l.Label = "" // one label in a small chart: the first series'
			}
			c.Lines = append(c.Lines, l)
		}
		words = append(words, s.describe(vs))
	}
	c.Desc = strings.Join(words, "; ") + "."
	return c
}

// fullChart is one series over a backup's history, for its page.
func fullChart(name string, s series, ps []point) chart {
	vs := s.values(ps)
	c := chart{ID: s.class + "-" + name, Title: strings.ToUpper(s.name[:1]) + s.name[1:] + " of " + name, Width: 560, Height: 120, Desc: s.describe(vs) + "."}
	if l, ok := draw(s, vs, c.Width, c.Height); ok {
		c.Lines = []line{l}
		lo, hi := vs[0], vs[0]
		for _, v := range vs {
			lo, hi = min(lo, v), max(hi, v)
		}
		c.Low, c.High = s.format(lo), s.format(hi)
	}
	return c
}

// draw is the line of vs, or a labelled dot for a single value.
func draw(s series, vs []float64, w, h int) (line, bool) {
	switch len(vs) {
	case 0:
		return line{}, false
	case 1:
		x, y := float64(w)/4, float64(h)/2
		return line{Class: s.class, Dot: true, X: x, Y: y, Label: s.format(vs[0]) + ", 1 run", LabelX: x + 6, LabelY: y + 4}, true
	}
	return line{Class: s.class, Points: polyline(vs, w, h)}, true
}
