package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/vigil-backup/vigil/tasks/lock"
)

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func lockHolder() lock.Holder {
	return lock.Holder{Host: "other-host", PID: 4242, StartedAt: time.Now()}
}
