package esfake

import (
	"fmt"
	"regexp"
	"strings"
)

// javaReplaceAll is Java's Matcher.replaceAll, which Elasticsearch uses
// for rename_replacement
// (https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/regex/Matcher.html#appendReplacement(java.lang.StringBuilder,java.lang.String)):
// "$n" takes as many digits as still name a group ("$1_x" is group 1 then
// "_x", where Go would read a group named "1_x"), "${name}" is a named
// group, a backslash quotes the next character, and any other "$" is an
// error. (The pattern itself is Java's too; the fake compiles it with Go,
// which agrees on the patterns vigil and its tests use.)
func javaReplaceAll(re *regexp.Regexp, in, repl string) (string, error) {
	var out strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(in, -1) {
		out.WriteString(in[last:m[0]])
		if err := javaAppend(&out, re, in, m, repl); err != nil {
			return "", err
		}
		last = m[1]
	}
	out.WriteString(in[last:])
	return out.String(), nil
}

func javaAppend(out *strings.Builder, re *regexp.Regexp, in string, m []int, repl string) error {
	group := func(g int) string {
		if m[2*g] < 0 {
			return ""
		}
		return in[m[2*g]:m[2*g+1]]
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i == len(repl) {
				return fmt.Errorf("character to be escaped is missing")
			}
			out.WriteByte(repl[i])
		case '$':
			i++
			if i == len(repl) {
				return fmt.Errorf("Illegal group reference: group index is missing")
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return fmt.Errorf("named capturing group is missing trailing '}'")
				}
				name := repl[i+1 : i+end]
				g := re.SubexpIndex(name)
				if g < 0 {
					return fmt.Errorf("No group with name {%s}", name)
				}
				out.WriteString(group(g))
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return fmt.Errorf("Illegal group reference")
			}
			g := int(repl[i] - '0')
			if g > re.NumSubexp() {
				return fmt.Errorf("No group %d", g)
			}
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				next := g*10 + int(repl[i+1]-'0')
				if next > re.NumSubexp() {
					break
				}
				g = next
				i++
			}
			out.WriteString(group(g))
		default:
			out.WriteByte(c)
		}
	}
	return nil
}
