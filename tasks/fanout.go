package tasks

import (
	"errors"
	"fmt"
	"io"
)

// fanout writes the one stream to every destination's upload pipe. A
// destination whose pipe fails (its upload stopped) is dropped and the
// others go on; a write fails only when none is left. A slow destination
// slows every write, never the others' correctness.
type fanout struct {
	pipes []*io.PipeWriter
	// done receives each upload's own result.
	done []chan error
	// dropped holds the write error of each dropped destination.
	dropped []error
}

func newFanout(n int) *fanout {
	f := &fanout{pipes: make([]*io.PipeWriter, n), done: make([]chan error, n), dropped: make([]error, n)}
	for i := range f.done {
		f.done[i] = make(chan error, 1)
	}
	return f
}

func (f *fanout) Write(p []byte) (int, error) {
	var first error
	alive := 0
	for i, w := range f.pipes {
		if f.dropped[i] != nil {
			continue
		}
		if _, err := w.Write(p); err != nil {
			f.dropped[i] = err
			if first == nil {
				first = err
			}
			continue
		}
		alive++
	}
	if alive == 0 {
		if first == nil {
			first = f.dropped[0]
		}
		return 0, first
	}
	return len(p), nil
}

// stop ends every pipe (with cause, or as complete when nil) and waits
// for the uploads: each destination's error, nil where it holds every
// byte. An upload that returned well but was dropped mid-stream reports
// the write's error.
func (f *fanout) stop(cause error) []error {
	for i, w := range f.pipes {
		if cause != nil {
			w.CloseWithError(cause)
		} else if f.dropped[i] == nil {
			w.Close()
		}
	}
	errs := make([]error, len(f.pipes))
	for i := range f.pipes {
		errs[i] = <-f.done[i]
		if errs[i] == nil && cause != nil {
			errs[i] = cause
		}
		if errs[i] == nil && f.dropped[i] != nil {
			errs[i] = f.dropped[i]
		}
	}
	return errs
}

// live counts the destinations without an error.
func (f *fanout) live(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// allFailed is the error of a stream that reached no destination: the
// upload's own with one destination, else each one's (copiesFailed).
func (f *fanout) allFailed(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &copiesFailed{errs: errs}
}

// copiesFailed is a stream that reached none of its destinations: Errs
// holds each one's error, in the order of the puts.
type copiesFailed struct{ errs []error }

func (c *copiesFailed) Error() string {
	out := make([]error, 0, len(c.errs))
	for i, err := range c.errs {
		out = append(out, fmt.Errorf("destination %d: %w", i+1, err))
	}
	return "tasks: every destination failed: " + errors.Join(out...).Error()
}
