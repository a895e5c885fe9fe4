package record_test

import (
	"testing"

	"github.com/vigil-backup/vigil/tasks/record"
	"github.com/vigil-backup/vigil/tasks/record/recordtest"
	"github.com/vigil-backup/vigil/tasks/store"
)

func TestStoreBook(t *testing.T) {
	s, err := store.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recordtest.Run(t, &record.Store{S: s}, "suite")
}
