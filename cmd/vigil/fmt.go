package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/vigil-backup/vigil/hcl/parse"
)

// FmtCommand rewrites spec files in the canonical HCL style, as nomad fmt does.
type FmtCommand struct{ *Meta }

func (c *FmtCommand) Synopsis() string { return "Rewrite backup specs in the canonical format" }

func (c *FmtCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil fmt [options] [PATH]

  Rewrites the *.hcl files in PATH (a directory or one file; default ".") in
  the canonical HCL format. With PATH "-", reads standard input and writes
  the result to standard output.

Fmt Options:

  -check
    Change nothing; exit 1 when any file is not formatted, listing it.

  -write=true
    Write the result back to the files. With -write=false the formatted
    text is printed instead.

  -list=true
    List the files whose formatting changed.
`)
}

func (c *FmtCommand) Run(args []string) int {
	var check, write, list bool
	fs := c.flagSet("fmt")
	fs.BoolVar(&check, "check", false, "")
	fs.BoolVar(&write, "write", true, "")
	fs.BoolVar(&list, "list", true, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	path, err := specPath(fs.Args())
	if err != nil {
		c.errorf("fmt: %v", err)
		return exitFail
	}
	if path == "-" {
		return c.formatStream(c.Stdin, c.Stdout)
	}
	files, err := hclFiles(path)
	if err != nil {
		c.errorf("fmt: %v", err)
		return exitFail
	}
	unformatted := false
	for _, f := range files {
		changed, code := c.formatFile(f, check, write && !check)
		if code != exitOK {
			return code
		}
		if changed {
			unformatted = true
			if list || check {
				fmt.Fprintln(c.Stdout, f)
			}
		}
	}
	if check && unformatted {
		return exitFail
	}
	return exitOK
}

func (c *FmtCommand) formatFile(path string, check, write bool) (bool, int) {
	src, err := os.ReadFile(path)
	if err != nil {
		c.errorf("fmt: read %s: %v", path, err)
		return false, exitFail
	}
	out, diags := formatSource(path, src)
	if diags.HasErrors() {
		parse.WriteDiagnostics(c.Stderr, map[string]*hcl.File{path: {Bytes: src}}, diags)
		return false, exitFail
	}
	changed := !bytes.Equal(src, out)
	switch {
	case check:
	case write && changed:
		if err := os.WriteFile(path, out, 0o644); err != nil {
			c.errorf("fmt: write %s: %v", path, err)
			return false, exitFail
		}
	case !write:
		c.Stdout.Write(out)
	}
	return changed, exitOK
}

func (c *FmtCommand) formatStream(r io.Reader, w io.Writer) int {
	src, err := io.ReadAll(r)
	if err != nil {
		c.errorf("fmt: read stdin: %v", err)
		return exitFail
	}
	out, diags := formatSource("<stdin>", src)
	if diags.HasErrors() {
		parse.WriteDiagnostics(c.Stderr, map[string]*hcl.File{"<stdin>": {Bytes: src}}, diags)
		return exitFail
	}
	w.Write(out)
	return exitOK
}

// formatSource refuses to format text that is not valid HCL, so fmt never
// turns a syntax error into a different one.
func formatSource(name string, src []byte) ([]byte, hcl.Diagnostics) {
	if _, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}

func hclFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.hcl"))
	sort.Strings(files)
	return files, err
}
