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
// settings, and where its database user comes from. compression is the
// backup's own, which a preset leaves the compressing to.
func decodeCommand(e *evaluator, raw *rawCommand, compression string) *config.CommandSource {
	c := &config.CommandSource{}
	p := commandPresets[e.enum(raw.Preset, "", "postgres")]
	if p == nil {
		e.require(raw.Dump, "dump", raw.DefRange)
	}
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
	if p != nil {
		p.fill(c, compression)
	}
	if cr := c.Creds; cr != nil {
		if cr.UsernameEnv == "" && cr.UsernameArg == "" {
			e.errorf(raw.Credentials.DefRange, "Missing username_env",
				"A database user from %s reaches the dump through what its tools read: set username_env (PGUSER for PostgreSQL), or username_arg (\"--user\" for mariadb-dump and redis-cli), or preset = \"postgres\" in the command block.", cr.Source)
		}
		if cr.PasswordEnv == "" {
			e.errorf(raw.Credentials.DefRange, "Missing password_env",
				"A database user's password reaches the dump only through a variable its tools read: set password_env (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), or preset = \"postgres\" in the command block.")
		}
	}
	return c
}

// commandPreset fills what a command block leaves out for a known
// database, so the traps are avoided: a dump format the restore tool
// reads, a restore that restores rather than prints, the variables the
// tools read a user from.
type commandPreset struct {
	// dump's compressed says the pipeline compresses (zstd): the dump
	// then writes uncompressed, since compressing twice costs CPU and
	// gains nothing, and zstd is several times faster than pg_dump's zlib.
	dump                 func(env map[string]string, compressed bool) []string
	restore              func(env map[string]string) []string
	usernameEnv, passEnv string
}

var commandPresets = map[string]*commandPreset{
	// pg_restore reads only the custom (or directory, tar) format, and
	// without --dbname it prints SQL instead of restoring.
	"postgres": {
		dump: func(_ map[string]string, compressed bool) []string {
			if compressed {
				return []string{"pg_dump", "--format=custom", "--no-owner", "--compress=0"}
			}
			return []string{"pg_dump", "--format=custom", "--no-owner"}
		},
		restore: func(env map[string]string) []string {
			db := env["PGDATABASE"]
			if db == "" {
				db = "postgres"
			}
			return []string{"pg_restore", "--no-owner", "--clean", "--if-exists", "--dbname=" + db}
		},
		usernameEnv: "PGUSER", passEnv: "PGPASSWORD",
	},
}

func (p *commandPreset) fill(c *config.CommandSource, compression string) {
	if len(c.Dump) == 0 {
		c.Dump = p.dump(c.Env, compression != "none")
	}
	if len(c.Restore) == 0 {
		c.Restore = p.restore(c.Env)
	}
	if cr := c.Creds; cr != nil {
		if cr.UsernameEnv == "" && cr.UsernameArg == "" {
			cr.UsernameEnv = p.usernameEnv
		}
		if cr.PasswordEnv == "" {
			cr.PasswordEnv = p.passEnv
		}
	}
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

// envVarName reads username_env or password_env, when given: a variable
// name. decodeCommand requires them once a preset had its say.
func envVarName(e *evaluator, attr *hcl.Attribute, name string, block hcl.Range) string {
	if attr == nil {
		return ""
	}
	v := e.str(attr, "")
	if !envName.MatchString(v) {
		e.errorf(attr.Expr.Range(), "Invalid variable name", "%s = %q is not a variable name; name the variable your client tools read, such as PGUSER or PGPASSWORD.", name, v)
	}
	return v
}

// decodeCommandVerify reads a command backup's drill: the scratch server
// (init, start, ready, env, user) and its assert blocks. Other types may
// use neither.
func decodeCommandVerify(e *evaluator, raw *rawVerify, typ string, v *config.Verify, notFor func(hcl.Range, string, string)) {
	sc := raw.Scratch
	server := sc != nil && (sc.Init != nil || sc.Start != nil || sc.Ready != nil || sc.Env != nil || sc.User != "" || sc.RestoreFirst)
	if typ != config.TypeCommand {
		if server {
			notFor(sc.DefRange, "A scratch server command (init, start, ready, env, user, restore_first)", "command")
		}
		for _, a := range raw.Asserts {
			notFor(a.DefRange, "An assert block", "command")
		}
		return
	}
	if sc == nil || sc.Start == nil {
		rng := raw.DefRange
		if sc != nil {
			rng = sc.DefRange
		}
		e.errorf(rng, "Missing scratch server",
			"A command backup's drill restores into a throwaway server it starts: scratch { start = [...] ready = [...] }, with {{ .Dir }} and {{ .Port }} where the server's folder and port go.")
		return
	}
	s := &config.ScratchServer{User: sc.User, RestoreFirst: sc.RestoreFirst}
	s.Init = argv(e, sc.Init, "init")
	s.Start = argv(e, sc.Start, "start")
	e.require(sc.Ready, "ready", sc.DefRange)
	s.Ready = argv(e, sc.Ready, "ready")
	if sc.Env != nil {
		e.value(sc.Env, &s.Env)
	}
	v.Scratch.Server = s
	if len(raw.Asserts) == 0 {
		e.errorf(raw.DefRange, "No assertions", "A command backup's drill needs at least one assert block: a query whose answer proves the restore (assert \"orders\" { command = [\"psql\", \"-At\", \"-c\", \"SELECT count(*) FROM orders\"] min = 1 }).")
	}
	for _, a := range raw.Asserts {
		c := config.CommandAssertion{Name: a.Name, Expect: a.Expect, Min: a.Min}
		e.require(a.Command, "command", a.DefRange)
		c.Command = argv(e, a.Command, "command")
		if a.Match != nil {
			c.Match = e.str(a.Match, "")
			if _, err := regexp.Compile(c.Match); err != nil {
				e.errorf(a.Match.Expr.Range(), "Invalid regular expression", "match: %v.", err)
			}
		}
		set := 0
		for _, given := range []bool{c.Expect != nil, c.Match != "", c.Min != nil} {
			if given {
				set++
			}
		}
		if set != 1 {
			e.errorf(a.DefRange, "One expectation per assert", "Give exactly one of expect (the whole answer), match (a regular expression) or min (a number at least this).")
		}
		v.Asserts = append(v.Asserts, c)
	}
}
