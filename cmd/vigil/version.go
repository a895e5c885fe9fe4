package main

import (
	"fmt"
	"regexp"
	"strings"
)

// VersionCommand prints the version.
type VersionCommand struct{ *Meta }

func (c *VersionCommand) Help() string     { return "Usage: vigil version\n\n  Prints the vigil version." }
func (c *VersionCommand) Synopsis() string { return "Print the vigil version" }

func (c *VersionCommand) Run(args []string) int {
	if len(args) > 0 {
		c.errorf("version takes no arguments")
		return exitFail
	}
	fmt.Fprintf(c.Stdout, "vigil %s\n", displayVersion(version))
	return exitOK
}

var releaseVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// displayVersion prints a release as nomad and consul do (v0.2.0), and
// anything else as it is (0.2.0-3-gdd88f87, 0.1.0-dev+dd88f87): a "v"
// before a commit hash reads as a version it is not.
func displayVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if releaseVersion.MatchString(v) {
		return "v" + v
	}
	return v
}
