package parse

import (
	"fmt"
	"os"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// secretEnvMarkers are substrings of environment variable names that env()
// refuses. Whatever env() returns is compiled into the job and shown by
// render and plan, so a secret read this way would leak; secrets reach a run
// through Vault instead.
var secretEnvMarkers = []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "PRIVATE", "CREDENTIAL", "ACCESS_KEY", "API_KEY", "AUTHORIZATION", "CONSUL_HTTP_AUTH"}

// secretEnvSuffixes end names that hold secrets by convention (DB_PASS,
// MYSQL_PWD, NOMAD_AUTH, S3_KEY); a name that is only the suffix's word
// (KEY, PASS) is refused too.
var secretEnvSuffixes = []string{"_AUTH", "_PASS", "_PWD", "_KEY"}

// secretEnvName returns why name looks like a secret's, or "".
func secretEnvName(name string) string {
	upper := strings.ToUpper(name)
	for _, m := range secretEnvMarkers {
		if strings.Contains(upper, m) {
			return fmt.Sprintf("its name contains %q", m)
		}
	}
	for _, suf := range secretEnvSuffixes {
		if strings.HasSuffix(upper, suf) || upper == suf[1:] {
			return fmt.Sprintf("its name ends in %q", suf[1:])
		}
	}
	return ""
}

func functions(lookupEnv func(string) (string, bool)) map[string]function.Function {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return map[string]function.Function{
		"abs":           stdlib.AbsoluteFunc,
		"ceil":          stdlib.CeilFunc,
		"chomp":         stdlib.ChompFunc,
		"coalesce":      stdlib.CoalesceFunc,
		"coalescelist":  stdlib.CoalesceListFunc,
		"compact":       stdlib.CompactFunc,
		"concat":        stdlib.ConcatFunc,
		"contains":      stdlib.ContainsFunc,
		"distinct":      stdlib.DistinctFunc,
		"element":       stdlib.ElementFunc,
		"env":           envFunc(lookupEnv),
		"flatten":       stdlib.FlattenFunc,
		"floor":         stdlib.FloorFunc,
		"format":        stdlib.FormatFunc,
		"formatdate":    stdlib.FormatDateFunc,
		"formatlist":    stdlib.FormatListFunc,
		"indent":        stdlib.IndentFunc,
		"index":         stdlib.IndexFunc,
		"join":          stdlib.JoinFunc,
		"jsondecode":    stdlib.JSONDecodeFunc,
		"jsonencode":    stdlib.JSONEncodeFunc,
		"keys":          stdlib.KeysFunc,
		"length":        stdlib.LengthFunc,
		"lookup":        stdlib.LookupFunc,
		"lower":         stdlib.LowerFunc,
		"max":           stdlib.MaxFunc,
		"merge":         stdlib.MergeFunc,
		"min":           stdlib.MinFunc,
		"parseint":      stdlib.ParseIntFunc,
		"range":         stdlib.RangeFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"replace":       stdlib.ReplaceFunc,
		"reverse":       stdlib.ReverseListFunc,
		"setunion":      stdlib.SetUnionFunc,
		"slice":         stdlib.SliceFunc,
		"sort":          stdlib.SortFunc,
		"split":         stdlib.SplitFunc,
		"strlen":        stdlib.StrlenFunc,
		"substr":        stdlib.SubstrFunc,
		"title":         stdlib.TitleFunc,
		"trim":          stdlib.TrimFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"upper":         stdlib.UpperFunc,
		"values":        stdlib.ValuesFunc,
		"zipmap":        stdlib.ZipmapFunc,
	}
}

// envFunc returns env(NAME): the variable's value, or "" when it is unset.
func envFunc(lookupEnv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if why := secretEnvName(name); why != "" {
				return cty.NilVal, function.NewArgErrorf(0,
					"env(%q) looks like a secret (%s); whatever env() returns is compiled into the Nomad job in clear text, so secrets must reach a run through Vault", name, why)
			}
			v, _ := lookupEnv(name)
			return cty.StringVal(v), nil
		},
	})
}
