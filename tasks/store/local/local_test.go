package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-backup/vigil/tasks/store"
	"github.com/vigil-backup/vigil/tasks/store/local"
	"github.com/vigil-backup/vigil/tasks/store/storetest"
)

func TestLocalSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLocalRejectsEscapingKeys(t *testing.T) {
	s, _ := local.New(t.TempDir())
	for _, k := range []string{"../x", "/etc/passwd", "", "a/../../x"} {
		if err := s.Put(t.Context(), k, strings.NewReader("x"), 1); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
}

// A crash mid-Put leaves only a temp file, which List does not show.
func TestLocalTempFilesAreInvisible(t *testing.T) {
	dir := t.TempDir()
	s, _ := local.New(dir)
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "b", "obj.vigil-tmp-abc"), []byte("half"), 0o644)
	objs, err := s.List(t.Context(), "b/")
	if err != nil || len(objs) != 0 {
		t.Fatalf("list = %v, %v", objs, err)
	}
}
