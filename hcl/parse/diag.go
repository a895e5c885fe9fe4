package parse

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diagnostics in Terraform's style, led by a
// file:line:col position so editors and CI logs can jump to it:
//
//	Error: spec.hcl:3:14: Invalid cron schedule
//
//	    3:   schedule = "61 * * * *"
//
//	"61 * * * *" is not a cron expression ...
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		sev := "Error"
		if d.Severity == hcl.DiagWarning {
			sev = "Warning"
		}
		if d.Subject != nil {
			fmt.Fprintf(w, "%s: %s: %s\n", sev, position(d.Subject), d.Summary)
			if line, ok := sourceLine(files, d.Subject); ok {
				fmt.Fprintf(w, "\n  %5d: %s\n", d.Subject.Start.Line, line)
				// A caret line shows the range inside the source line.
				width := d.Subject.End.Column - d.Subject.Start.Column
				if d.Subject.End.Line != d.Subject.Start.Line || width < 1 {
					width = 1
				}
				fmt.Fprintf(w, "  %5s  %s%s\n", "", strings.Repeat(" ", max(d.Subject.Start.Column-1, 0)), strings.Repeat("^", width))
			}
		} else {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "\n%s\n", d.Detail)
		}
		fmt.Fprintln(w)
	}
}

func position(r *hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func sourceLine(files map[string]*hcl.File, r *hcl.Range) (string, bool) {
	f, ok := files[r.Filename]
	if !ok || f == nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(f.Bytes))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n == r.Start.Line {
			return strings.ReplaceAll(sc.Text(), "\t", " "), true
		}
	}
	return "", false
}

// JSONDiagnostic is one diagnostic in the -json output, shaped like
// `terraform validate -json`.
type JSONDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *JSONRange `json:"range,omitempty"`
}

// JSONRange is a source range.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position in a file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONResult is the whole -json document of validate.
type JSONResult struct {
	Valid        bool             `json:"valid"`
	ErrorCount   int              `json:"error_count"`
	WarningCount int              `json:"warning_count"`
	Diagnostics  []JSONDiagnostic `json:"diagnostics"`
}

// DiagnosticsJSON converts diagnostics to their JSON form.
func DiagnosticsJSON(diags hcl.Diagnostics) JSONResult {
	res := JSONResult{Diagnostics: []JSONDiagnostic{}}
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			res.WarningCount++
		} else {
			res.ErrorCount++
		}
		if d.Subject != nil {
			s := d.Subject
			jd.Range = &JSONRange{
				Filename: s.Filename,
				Start:    JSONPos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte},
				End:      JSONPos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte},
			}
		}
		res.Diagnostics = append(res.Diagnostics, jd)
	}
	res.Valid = res.ErrorCount == 0
	return res
}

// WriteDiagnosticsJSON prints the -json document.
func WriteDiagnosticsJSON(w io.Writer, diags hcl.Diagnostics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(DiagnosticsJSON(diags))
}
