package config

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://es.example:9200":                "https://es.example:9200",
		"https://elastic:s3cret@es.example:9200": "https://elastic:xxxxx@es.example:9200",
		// Does not parse (a bad escape in the password): masked all the same.
		"https://elastic:s3cret%zz@es.example:9200": "https://xxxxx@es.example:9200",
		"not a url %zz": "not a url %zz",
	} {
		got := RedactURL(raw)
		if got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("RedactURL(%q) keeps the password: %q", raw, got)
		}
	}
}
