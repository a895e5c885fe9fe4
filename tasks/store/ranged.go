package store

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Ranger is implemented by stores that can read part of an object, so a
// large object can be read with several requests in flight (Download).
//
// Error contract: as Get (ErrNotFound for a missing key). GetRange returns
// up to n bytes from off, and the whole object's size as the store knows
// it, so a reader can tell an object of the wrong size before it reads it.
type Ranger interface {
	GetRange(ctx context.Context, key string, off, n int64) (body io.ReadCloser, objectSize int64, err error)
}

// ContentRangeTotal reads an object's size from a range answer's
// Content-Range, "bytes 0-99/1234".
func ContentRangeTotal(cr string) (int64, error) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 || !strings.HasPrefix(cr, "bytes ") {
		return 0, fmt.Errorf("the answer to a range request has no usable Content-Range (%q)", cr)
	}
	total, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the answer to a range request has no usable Content-Range (%q)", cr)
	}
	return total, nil
}
