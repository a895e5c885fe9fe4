// Command vigil turns HCL backup specs into Nomad periodic batch jobs and
// runs the backups inside them.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/hashicorp/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	defer startProfiles()()
	// Most commands are short-lived and allocate while decoding specs: a
	// lazier GC makes validate, render and plan of thousands of backups
	// quicker. The streaming commands set a memory limit instead.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	m := &Meta{
		Ui:     &cli.BasicUi{Reader: stdin, Writer: stdout, ErrorWriter: stderr},
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
	}
	c := cli.NewCLI("vigil", version)
	c.Args = args
	c.Commands = commands(m)
	c.HelpWriter = stdout
	c.ErrorWriter = stderr
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return 1
	}
	return code
}

func commands(m *Meta) map[string]cli.CommandFactory {
	return map[string]cli.CommandFactory{
		"validate": func() (cli.Command, error) { return &ValidateCommand{Meta: m}, nil },
		"fmt":      func() (cli.Command, error) { return &FmtCommand{Meta: m}, nil },
		"render":   func() (cli.Command, error) { return &RenderCommand{Meta: m}, nil },
		"plan":     func() (cli.Command, error) { return &PlanCommand{Meta: m}, nil },
		"apply":    func() (cli.Command, error) { return &ApplyCommand{Meta: m}, nil },
		"setup":    func() (cli.Command, error) { return &SetupCommand{Meta: m}, nil },
		"version":  func() (cli.Command, error) { return &VersionCommand{Meta: m}, nil },
		"run":      func() (cli.Command, error) { return &RunCommand{Meta: m}, nil },
		"restore":  func() (cli.Command, error) { return &RestoreCommand{Meta: m}, nil },
		"list":     func() (cli.Command, error) { return &ListCommand{Meta: m}, nil },
		"prune":    func() (cli.Command, error) { return &PruneCommand{Meta: m}, nil },
		"rewrap":   func() (cli.Command, error) { return &RewrapCommand{Meta: m}, nil },
		"verify":   func() (cli.Command, error) { return &VerifyCommand{Meta: m}, nil },
		"serve":    func() (cli.Command, error) { return &ServeCommand{Meta: m}, nil },
		"status":   func() (cli.Command, error) { return &StatusCommand{Meta: m}, nil },
	}
}
