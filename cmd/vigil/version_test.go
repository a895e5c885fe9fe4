package main

import "testing"

func TestDisplayVersion(t *testing.T) {
	for in, want := range map[string]string{
		"0.2.0":             "v0.2.0",
		"v0.2.0":            "v0.2.0",
		"0.2.0-3-gdd88f87":  "0.2.0-3-gdd88f87",
		"v0.2.0-3-gdd88f87": "0.2.0-3-gdd88f87",
		"0.1.0-dev+dd88f87": "0.1.0-dev+dd88f87",
		"dd88f87":           "dd88f87",
	} {
		if got := displayVersion(in); got != want {
			t.Errorf("%q prints as %q, want %q", in, got, want)
		}
	}
}
