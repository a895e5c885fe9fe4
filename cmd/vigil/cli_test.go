package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func vigil(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateExamples(t *testing.T) {
	code, out, errs := vigil(t, "", "validate", filepath.Join("..", "..", "examples"))
	if code != 0 {
		t.Fatalf("validate examples: exit %d\n%s", code, errs)
	}
	if !strings.Contains(out, "valid") {
		t.Errorf("output = %q", out)
	}
}

var position = regexp.MustCompile(`(?m)^Error: [^:\s]+\.hcl:\d+:\d+: `)

func TestValidateInvalidSet(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "hcl", "parse", "testdata", "invalid", "*"))
	if len(dirs) < 5 {
		t.Fatalf("invalid set too small: %v", dirs)
	}
	for _, dir := range dirs {
		code, _, errs := vigil(t, "", "validate", dir)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", dir, code)
		}
		if !position.MatchString(errs) {
			t.Errorf("%s: no file:line:col in\n%s", dir, errs)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := vigil(t, "", "validate", "-json", filepath.Join("..", "..", "hcl", "parse", "testdata", "invalid", "invalid_cron"))
	if code != 1 || !strings.Contains(out, `"valid": false`) || !strings.Contains(out, `"line": 6`) {
		t.Errorf("exit %d, json:\n%s", code, out)
	}
}

func TestFmt(t *testing.T) {
	dir := t.TempDir()
	ugly := "storage \"local\" \"d\" {\npath=\"/b\"\n}\n"
	file := filepath.Join(dir, "a.hcl")
	os.WriteFile(file, []byte(ugly), 0o644)

	if code, out, _ := vigil(t, "", "fmt", "-check", dir); code != 1 || !strings.Contains(out, "a.hcl") {
		t.Errorf("fmt -check on unformatted: exit %d, out %q", code, out)
	}
	if b, _ := os.ReadFile(file); string(b) != ugly {
		t.Errorf("fmt -check must not write")
	}
	if code, _, errs := vigil(t, "", "fmt", dir); code != 0 {
		t.Fatalf("fmt: exit %d: %s", code, errs)
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), `path = "/b"`) {
		t.Errorf("fmt did not rewrite: %q", b)
	}
	if code, _, _ := vigil(t, "", "fmt", "-check", dir); code != 0 {
		t.Errorf("fmt -check after fmt: exit %d", code)
	}
	os.WriteFile(file, []byte("storage {\n"), 0o644)
	if code, _, errs := vigil(t, "", "fmt", dir); code != 1 || !strings.Contains(errs, "a.hcl:") {
		t.Errorf("fmt of broken HCL: exit %d, %q", code, errs)
	}
	if code, _, _ := vigil(t, "", "fmt", "-check", filepath.Join("..", "..", "examples")); code != 0 {
		t.Errorf("examples/ is not fmt-clean")
	}
}

func TestRenderOut(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"hcl", "json"} {
		code, _, errs := vigil(t, "", "render", "-format", format, "-out", dir, filepath.Join("..", "..", "examples"))
		if code != 0 {
			t.Fatalf("render %s: %s", format, errs)
		}
	}
	for _, id := range []string{"vigil-consul-prod", "vigil-etcd-main", "vigil-logs", "vigil-consul-kv-services"} {
		for _, ext := range []string{".nomad.hcl", ".nomad.json"} {
			if _, err := os.Stat(filepath.Join(dir, id+ext)); err != nil {
				t.Errorf("missing %s%s", id, ext)
			}
		}
	}
	if code, _, _ := vigil(t, "", "render", "-format", "yaml", filepath.Join("..", "..", "examples")); code != 1 {
		t.Errorf("bad -format must fail")
	}
}

func TestRenderedExamplesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := vigil(t, "", "render", "-out", dir, filepath.Join("..", "..", "examples")); code != 0 {
		t.Fatal(errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.nomad.hcl"))
	for _, f := range files {
		got, _ := os.ReadFile(f)
		committed := filepath.Join("..", "..", "nomad", "jobs", filepath.Base(f))
		want, err := os.ReadFile(committed)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run `make examples-render`", committed)
		}
	}
}

func TestPlanWithoutNomadIsAnError(t *testing.T) {
	code, _, errs := vigil(t, "", "plan", "-address", "http://127.0.0.1:1", filepath.Join("..", "..", "examples"))
	if code != 255 || !strings.Contains(errs, "plan") {
		t.Errorf("exit %d, %q", code, errs)
	}
}
