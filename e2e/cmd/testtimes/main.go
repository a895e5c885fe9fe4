// Command testtimes reads `go test -json` on stdin, prints what plain
// `go test` would (failures, logs, package results; not the "=== RUN" and
// "--- PASS" lines -json adds), then the slowest top-level tests, so a run
// ends with where the e2e suite's time went. It exits 1 unless every
// package passed.
//
// usage: go test -json ./e2e/... | go run ./e2e/cmd/testtimes [-top N]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// quiet are the lines -json adds to plain go test's output.
var quiet = []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- SKIP", "PASS\n"}

func main() {
	top := flag.Int("top", 15, "how many of the slowest tests to list")
	flag.Parse()
	os.Exit(run(bufio.NewScanner(os.Stdin), *top))
}

func run(sc *bufio.Scanner, top int) int {
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	type timing struct {
		name string
		secs float64
	}
	var tests []timing
	failed, passed := map[string]bool{}, map[string]bool{}
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Println(sc.Text()) // not JSON: a build error, say
			continue
		}
		switch {
		case e.Action == "output" && !isQuiet(e.Output):
			fmt.Print(e.Output)
		case e.Test == "" && e.Action == "fail":
			failed[e.Package] = true
		case e.Test == "" && (e.Action == "pass" || e.Action == "skip"):
			passed[e.Package] = true
		case e.Test != "" && !strings.Contains(e.Test, "/") && (e.Action == "pass" || e.Action == "fail"):
			tests = append(tests, timing{e.Test, e.Elapsed})
		}
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].secs > tests[j].secs })
	var total float64
	for _, t := range tests {
		total += t.secs
	}
	fmt.Printf("==> the %d slowest of %d tests (%.0f s in all)\n", min(top, len(tests)), len(tests), total)
	for i := 0; i < top && i < len(tests); i++ {
		fmt.Printf("    %-45s %6.1f s\n", tests[i].name, tests[i].secs)
	}
	if len(failed) > 0 || len(passed) == 0 {
		return 1
	}
	return 0
}

func isQuiet(line string) bool {
	for _, q := range quiet {
		if strings.HasPrefix(strings.TrimLeft(line, " "), q) {
			return true
		}
	}
	return false
}
