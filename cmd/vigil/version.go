package main

import "fmt"

// VersionCommand prints the version.
type VersionCommand struct{ *Meta }

func (c *VersionCommand) Help() string     { return "Usage: vigil version\n\n  Prints the vigil version." }
func (c *VersionCommand) Synopsis() string { return "Print the vigil version" }

func (c *VersionCommand) Run(args []string) int {
	if len(args) > 0 {
		c.errorf("version takes no arguments")
		return exitFail
	}
	fmt.Fprintf(c.Stdout, "vigil v%s\n", version)
	return exitOK
}
