package parse

import (
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// secretLooking are variable names that carry a secret: they belong in a
// credentials block (Vault), never in the spec and the job it compiles to.
var secretLooking = regexp.MustCompile(`(?i)(PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL)`)

// decodeCommand reads a command backup's block: argv lists, plain
// settings, and where its database user comes from.
func decodeCommand(e *evaluator, raw *rawCommand, backupTimeout hcl.Range) *config.CommandSource {
	c := &config.CommandSource{}
	e.require(raw.Dump, "dump", raw.DefRange)
	c.Dump = argv(e, raw.Dump, "dump")
	c.Restore = argv(e, raw.Restore, "restore")
	if raw.Env != nil {
		var env map[string]string
		if e.value(raw.Env, &env) {
			names := make([]string, 0, len(env))
			for k := range env {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				switch {
				case !envName.MatchString(k):
					e.errorf(raw.Env.Expr.Range(), "Invalid variable name", "%q is not a variable name (letters, digits and _).", k)
				case secretLooking.MatchString(k):
					e.errorf(raw.Env.Expr.Range(), "Secret in env",
						"%s looks like a secret, and env is compiled into the job in the clear. Take it from Vault instead: credentials { vault_database = \"database/creds/ROLE\" username_env = ... password_env = %q }.", k, k)
				}
			}
			c.Env = env
		}
	}
	c.Timeout = e.duration(raw.Timeout, 0)
	if raw.Timeout != nil && c.Timeout <= 0 {
		e.errorf(raw.Timeout.Expr.Range(), "Invalid timeout", "timeout must be greater than zero.")
	}
	c.Creds = decodeTargetCreds(e, raw.Credentials, config.TypeCommand)
	return c
}

// argv reads a command as a list of strings: the program, then its
// arguments, with no shell between them.
func argv(e *evaluator, attr *hcl.Attribute, name string) []string {
	if attr == nil {
		return nil
	}
	var out []string
	if !e.value(attr, &out) {
		return nil
	}
	if len(out) == 0 || out[0] == "" {
		e.errorf(attr.Expr.Range(), "Empty command", "%s must name a program, then its arguments: [\"pg_dump\", \"--format=custom\"].", name)
		return nil
	}
	return out
}

// envVarName reads username_env or password_env: a variable name.
func envVarName(e *evaluator, attr *hcl.Attribute, name string, block hcl.Range) string {
	if !e.require(attr, name, block) {
		return ""
	}
	v := e.str(attr, "")
	if !envName.MatchString(v) {
		e.errorf(attr.Expr.Range(), "Invalid variable name", "%s = %q is not a variable name; name the variable your client tools read, such as PGUSER or PGPASSWORD.", name, v)
	}
	return v
}
