package parse

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const teachHead = `storage "local" "disk" {
  path = "/b"
}
`

// firstError loads src and returns its first error (a retain block with
// only an unknown argument also keeps nothing: a second, true error).
func firstError(t *testing.T, src string) *hcl.Diagnostic {
	t.Helper()
	_, _, diags := LoadBytes("spec.hcl", []byte(teachHead+src), Options{})
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		t.Fatal("no error")
	}
	return errs[0]
}

// An unknown argument gets a suggestion by a shared word or by spelling,
// names its block, and lists every valid name.
func TestUnknownArgumentSuggests(t *testing.T) {
	d := firstError(t, `backup "consul_kv" "a" {
  schedule = "0 * * * *"
  storage  = storage.local.disk
  retain {
    keep_last = 3
  }
}
`)
	for _, want := range []string{`"keep_last" is not expected in a retain block`, `Did you mean "last"?`, "The arguments in a retain block: ", "daily", "last"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, d.Detail)
		}
	}
	if d.Subject.Start.Line != 8 || d.Subject.Start.Column != 5 {
		t.Errorf("position %d:%d, want 8:5", d.Subject.Start.Line, d.Subject.Start.Column)
	}
	d = firstError(t, `backup "consul_kv" "a" {
  schedul = "0 * * * *"
  schedule = "0 * * * *"
  storage  = storage.local.disk
}
`)
	if !strings.Contains(d.Detail, `Did you mean "schedule"?`) || !strings.Contains(d.Detail, "The blocks here: command, consul, elasticsearch") {
		t.Errorf("misspelt top-level argument:\n%s", d.Detail)
	}
	if got := Suggest("zzz", []string{"last", "daily"}); got != "" {
		t.Errorf("suggested %q for nothing alike", got)
	}
}

// A value of the wrong type names its attribute and says what it takes
// and what it got, in words.
func TestTypeErrorNamesAttribute(t *testing.T) {
	d := firstError(t, `backup "consul_kv" "a" {
  schedule = ["0 * * * *"]
  storage  = storage.local.disk
}
`)
	if d.Summary != "Wrong type for schedule" || !strings.Contains(d.Detail, "schedule takes a string (text in quotes") ||
		!strings.Contains(d.Detail, "given a list") || !strings.Contains(d.Detail, "without the brackets") {
		t.Errorf("%s: %s", d.Summary, d.Detail)
	}
}

// Cron errors name the five fields, and @every is explained with the
// cron that says the same.
func TestCronErrorsTeach(t *testing.T) {
	for src, wants := range map[string][]string{
		`"0 * *"`:      {"(3 fields;", "five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12) and day of week"},
		`"@every 30m"`: {"@every is an interval", `Every 30m is "*/30 * * * *"`, "five fields"},
		`"@every 6h"`:  {`Every 6h is "0 */6 * * *"`},
		`"61 * * * *"`: {"five fields"},
		`"@every 7m"`:  {"@every is an interval"},
	} {
		d := firstError(t, `backup "consul_kv" "a" {
  schedule = `+src+`
  storage  = storage.local.disk
}
`)
		for _, w := range wants {
			if d.Summary != "Invalid cron schedule" || !strings.Contains(d.Detail, w) {
				t.Errorf("%s: lacks %q: %s: %s", src, w, d.Summary, d.Detail)
			}
		}
	}
}
