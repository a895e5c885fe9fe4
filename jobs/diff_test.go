package jobs

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestFormatDiff(t *testing.T) {
	d := &api.JobDiff{
		Type: "Edited", ID: "vigil-kv",
		Objects: []*api.ObjectDiff{{
			Type: "Edited", Name: "Periodic",
			Fields: []*api.FieldDiff{
				{Type: "Edited", Name: "Spec", Old: "0 * * * *", New: "*/5 * * * *"},
				{Type: "None", Name: "TimeZone", Old: "UTC", New: "UTC"},
			},
		}},
		TaskGroups: []*api.TaskGroupDiff{{
			Type: "Edited", Name: "backup", Updates: map[string]uint64{"create/destroy update": 1},
			Tasks: []*api.TaskDiff{{
				Type: "Edited", Name: "vigil", Annotations: []string{"forces create/destroy update"},
				Fields: []*api.FieldDiff{{Type: "Added", Name: "Meta[x]", New: "1"}},
			}},
		}},
	}
	got := FormatDiff(d)
	for _, want := range []string{
		`+/- Job: "vigil-kv"`,
		`+/- Periodic {`,
		`  +/- Spec: "0 * * * *" => "*/5 * * * *"`,
		`+/- Task Group: "backup" (1 create/destroy update)`,
		`  +/- Task: "vigil" (forces create/destroy update)`,
		`    + Meta[x]: "1"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TimeZone") {
		t.Errorf("unchanged fields must be hidden:\n%s", got)
	}
}
