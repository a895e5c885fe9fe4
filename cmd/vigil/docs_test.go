package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/cli"
)

// TestCommandsTableHasEveryFlag: every flag of every command is in the
// README's command table, on the command's row or among the flags the
// paragraph under the table gives every command.
func TestCommandsTableHasEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	var common string
	inTable := false
	for _, line := range strings.Split(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| `vigil ([a-z]+)").FindStringSubmatch(line); m != nil {
			rows[m[1]], inTable = line, true
			continue
		}
		if inTable && !strings.HasPrefix(line, "|") {
			common += line + "\n"
			if strings.HasPrefix(line, "## ") {
				break
			}
		}
	}
	has := func(text, name string) bool {
		return regexp.MustCompile(`(^|[^a-z-])-` + regexp.QuoteMeta(name) + `([^a-z-]|$)`).MatchString(text)
	}
	var out bytes.Buffer
	m := &Meta{Ui: &cli.BasicUi{Writer: &out, ErrorWriter: &out}, Stdout: &out, Stderr: &out, Stdin: strings.NewReader("")}
	cmds := commands(m)
	var names []string
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		row, ok := rows[name]
		if !ok {
			t.Errorf("vigil %s has no row in the README's command table", name)
			continue
		}
		cmd, _ := cmds[name]()
		m.flagSets = nil
		cmd.Run([]string{"-h"}) // -h stops at flag parsing: nothing runs
		for _, fs := range m.flagSets {
			fs.VisitAll(func(f *flag.Flag) {
				if !has(row, f.Name) && !has(common, f.Name) {
					t.Errorf("vigil %s -%s is not in the README's command table", name, f.Name)
				}
			})
		}
	}
}

// TestDocLinks: every relative link in the README and docs/ points at a
// file that exists and, with an anchor, at a heading in it.
func TestDocLinks(t *testing.T) {
	root := "../.."
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(stripCode(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), path)
			}
			checked++
			body, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("%s: link %s: %v", rel(root, f), target, err)
				continue
			}
			if anchor != "" && !headingSlugs(string(body))[anchor] {
				t.Errorf("%s: link %s: no heading #%s in %s", rel(root, f), target, anchor, rel(root, dest))
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d links checked: the pattern finds none", checked)
	}
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return r
}

// stripCode drops fenced code blocks, whose brackets are not links.
func stripCode(s string) string {
	var out []string
	in := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// headingSlugs are the anchors GitHub gives a page's headings.
func headingSlugs(md string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile("[^a-z0-9 _-]")
	for _, line := range strings.Split(stripCode(md), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		h = strings.ReplaceAll(h, "`", "")
		out[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return out
}

// TestFirstBackupSpec: the README's first spec is valid and formatted.
func TestFirstBackupSpec(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "# first/backup.hcl\n")
	if i < 0 {
		t.Fatal("no first/backup.hcl in the README")
	}
	j := strings.Index(s[i:], "```")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "backup.hcl"), []byte(s[i:i+j]), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := vigil(t, "", "validate", dir); code != 0 {
		t.Errorf("validate: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := vigil(t, "", "fmt", "-check", dir); code != 0 {
		t.Errorf("fmt -check: %d\n%s%s", code, out, errs)
	}
}
