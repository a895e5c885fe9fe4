package jobs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// FormatDiff renders a Nomad job diff in the layout `nomad job plan` uses:
// "+" added, "-" deleted, "+/-" edited, with names and values aligned.
func FormatDiff(d *api.JobDiff) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%sJob: %q\n", marker(d.Type), d.ID)
	if d.Type == "Edited" {
		writeFields(&sb, d.Fields, d.Objects, 0)
	}
	for _, tg := range d.TaskGroups {
		fmt.Fprintf(&sb, "%sTask Group: %q%s\n", marker(tg.Type), tg.Name, updates(tg.Updates))
		if tg.Type == "Edited" {
			writeFields(&sb, tg.Fields, tg.Objects, 2)
		}
		for _, t := range tg.Tasks {
			ann := ""
			if len(t.Annotations) > 0 {
				ann = " (" + strings.Join(t.Annotations, ", ") + ")"
			}
			fmt.Fprintf(&sb, "  %sTask: %q%s\n", marker(t.Type), t.Name, ann)
			if t.Type == "Edited" {
				writeFields(&sb, t.Fields, t.Objects, 4)
			}
		}
	}
	return sb.String()
}

func writeFields(sb *strings.Builder, fields []*api.FieldDiff, objects []*api.ObjectDiff, indent int) {
	width := 0
	for _, f := range fields {
		if f.Type != "None" && len(f.Name) > width {
			width = len(f.Name)
		}
	}
	pad := strings.Repeat(" ", indent)
	for _, f := range fields {
		if f.Type == "None" {
			continue
		}
		fmt.Fprintf(sb, "%s%s%s: %s%s", pad, marker(f.Type), f.Name, strings.Repeat(" ", width-len(f.Name)), fieldValue(f))
		if len(f.Annotations) > 0 {
			fmt.Fprintf(sb, " (%s)", strings.Join(f.Annotations, ", "))
		}
		sb.WriteString("\n")
	}
	for _, o := range objects {
		if o.Type == "None" {
			continue
		}
		fmt.Fprintf(sb, "%s%s%s {\n", pad, marker(o.Type), o.Name)
		writeFields(sb, o.Fields, o.Objects, indent+2)
		fmt.Fprintf(sb, "%s%s}\n", pad, strings.Repeat(" ", len(marker(o.Type))))
	}
}

func fieldValue(f *api.FieldDiff) string {
	switch f.Type {
	case "Added":
		return fmt.Sprintf("%q", f.New)
	case "Deleted":
		return fmt.Sprintf("%q", f.Old)
	case "Edited":
		return fmt.Sprintf("%q => %q", f.Old, f.New)
	}
	return fmt.Sprintf("%q", f.New)
}

func marker(t string) string {
	switch t {
	case "Added":
		return "+ "
	case "Deleted":
		return "- "
	case "Edited":
		return "+/- "
	}
	return ""
}

func updates(u map[string]uint64) string {
	if len(u) == 0 {
		return ""
	}
	kinds := make([]string, 0, len(u))
	for k := range u {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", u[k], k))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
