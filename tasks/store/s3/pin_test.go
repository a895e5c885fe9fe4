package s3

import "testing"

// A key pinned again reads the newest pin; other pins stay.
func TestPinKeepsNewest(t *testing.T) {
	s := (&Store{}).Pin("a", "v1").(*Store).Pin("b", "w1").(*Store).Pin("a", "v2").(*Store)
	if got := *s.versionOf("a"); got != "v2" {
		t.Errorf("a reads version %s, want v2", got)
	}
	if got := *s.versionOf("b"); got != "w1" {
		t.Errorf("b reads version %s, want w1", got)
	}
	if s.versionOf("c") != nil {
		t.Error("an unpinned key reads a version")
	}
}
