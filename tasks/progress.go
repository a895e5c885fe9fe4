package tasks

import (
	"fmt"
	"github.com/vigil-backup/vigil/tasks/record"
	"io"
	"strings"
	"time"
)

// progressReader draws a one-line progress bar; it is only used when the
// output is a terminal, never under Nomad.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	label string
	total int64
	n     int64
	last  time.Time
}

func withProgress(r io.Reader, w io.Writer, label string, total int64) io.Reader {
	if w == nil {
		return r
	}
	return &progressReader{r: r, w: w, label: label, total: total}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if time.Since(p.last) > 200*time.Millisecond || err != nil {
		p.last = time.Now()
		p.draw()
		if err == io.EOF {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}

func (p *progressReader) draw() {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(p.n)/float64(p.total), 1)
	}
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s / %s", p.label, bar, frac*100, record.HumanBytes(p.n), record.HumanBytes(p.total))
}
