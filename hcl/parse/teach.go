package parse

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Diagnostics that teach: gohcl says "An argument named "keep_last" is not
// expected here" and "Unsuitable value: string required". teach rewrites
// them to name the block, suggest the closest valid name (by spelling or
// by a shared word: keep_last → last), list every valid name, and say in
// words what an attribute takes and what it was given.

// teach rewrites the diagnostics gohcl gave for decoding src into v.
func teach(diags hcl.Diagnostics, src hcl.Body, v any, ctx *hcl.EvalContext) {
	body, ok := src.(*hclsyntax.Body)
	if !ok {
		return
	}
	t := reflect.TypeOf(v)
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		switch d.Summary {
		case "Unsupported argument", "Unsupported block type":
			blockType, schema := schemaAt(body, t, d.Subject.Start, "")
			if schema == nil {
				continue
			}
			teachUnknown(d, blockType, schema)
		case "Unsuitable value type", "Incorrect attribute value type":
			if attr := attributeAt(body, d.Subject.Start); attr != nil {
				teachType(d, attr.Name, attr.Expr, ctx)
			}
		}
	}
}

// schemaAt is the schema of the innermost block of body holding pos,
// following the gohcl struct t down the block fields, and that block's
// type ("" at the top).
func schemaAt(body *hclsyntax.Body, t reflect.Type, pos hcl.Pos, blockType string) (string, *hcl.BodySchema) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return blockType, nil
	}
	for _, b := range body.Blocks {
		if !contains(b.Range(), pos) || b.Body == nil || contains(b.TypeRange, pos) {
			continue
		}
		if ft, ok := blockField(t, b.Type); ok {
			return schemaAt(b.Body, ft, pos, b.Type)
		}
	}
	schema, _ := gohcl.ImpliedBodySchema(reflect.New(t).Interface())
	return blockType, schema
}

// blockField is the Go type of the struct field decoding blocks of typ.
func blockField(t reflect.Type, typ string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, kind, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		if name == typ && kind == "block" {
			return f.Type, true
		}
	}
	return nil, false
}

func contains(r hcl.Range, p hcl.Pos) bool {
	return p.Byte >= r.Start.Byte && p.Byte < r.End.Byte
}

// attributeAt is the attribute whose value holds pos, in body or a block
// inside it.
func attributeAt(body *hclsyntax.Body, pos hcl.Pos) *hclsyntax.Attribute {
	for _, a := range body.Attributes {
		if contains(a.SrcRange, pos) {
			return a
		}
	}
	for _, b := range body.Blocks {
		if contains(b.Range(), pos) && b.Body != nil {
			return attributeAt(b.Body, pos)
		}
	}
	return nil
}

func teachUnknown(d *hcl.Diagnostic, blockType string, schema *hcl.BodySchema) {
	where := "here"
	if blockType != "" {
		where = fmt.Sprintf("in a %s block", blockType)
	}
	name := quotedName(d.Detail)
	var attrs, blocks []string
	for _, a := range schema.Attributes {
		attrs = append(attrs, a.Name)
	}
	for _, b := range schema.Blocks {
		blocks = append(blocks, b.Type)
	}
	sort.Strings(attrs)
	sort.Strings(blocks)
	var sb strings.Builder
	if d.Summary == "Unsupported argument" {
		fmt.Fprintf(&sb, "An argument named %q is not expected %s.", name, where)
		if s := Suggest(name, attrs); s != "" {
			fmt.Fprintf(&sb, " Did you mean %q?", s)
		} else if s := Suggest(name, blocks); s != "" {
			fmt.Fprintf(&sb, " Did you mean the block %s { ... }?", s)
		}
	} else {
		fmt.Fprintf(&sb, "Blocks of type %q are not expected %s.", name, where)
		if s := Suggest(name, blocks); s != "" {
			fmt.Fprintf(&sb, " Did you mean %q?", s)
		} else if s := Suggest(name, attrs); s != "" {
			fmt.Fprintf(&sb, " Did you mean the argument %s = ...?", s)
		}
	}
	if len(attrs) > 0 {
		fmt.Fprintf(&sb, "\n\nThe arguments %s: %s.", where, strings.Join(attrs, ", "))
	} else {
		fmt.Fprintf(&sb, "\n\nNo arguments are expected %s.", where)
	}
	if len(blocks) > 0 {
		fmt.Fprintf(&sb, "\nThe blocks %s: %s.", where, strings.Join(blocks, ", "))
	}
	d.Detail = sb.String()
}

// quotedName is the first quoted name in a gohcl detail.
func quotedName(detail string) string {
	_, rest, ok := strings.Cut(detail, `"`)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, `"`)
	return name
}

// Suggest is the valid name closest to name: one edit or two away, or
// sharing a whole word of an underscored name (keep_last → last), or ""
// when none is close.
func Suggest(name string, valid []string) string {
	best, bestScore := "", 3
	for _, v := range valid {
		if d := levenshtein(name, v); d < bestScore {
			best, bestScore = v, d
		}
	}
	if best != "" {
		return best
	}
	words := strings.Split(name, "_")
	for _, v := range valid {
		for _, w := range words {
			if len(w) >= 3 && (w == v || strings.Contains(v, w) && len(w)*2 >= len(v)) {
				return v
			}
		}
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// teachType names the attribute a type error is about, and says in words
// what it takes and what it was given.
func teachType(d *hcl.Diagnostic, name string, expr hcl.Expression, ctx *hcl.EvalContext) {
	if !strings.HasPrefix(d.Detail, "Unsuitable value: ") && !strings.HasPrefix(d.Detail, "Inappropriate value") {
		return
	}
	want := strings.TrimPrefix(d.Detail, "Unsuitable value: ")
	if i := strings.Index(want, " required"); i >= 0 {
		want = want[:i]
	}
	want = strings.TrimSuffix(want, " is")
	want = strings.TrimPrefix(strings.TrimPrefix(want, "a "), "an ")
	got := "another kind of value"
	if v, diags := expr.Value(ctx); !diags.HasErrors() {
		got = typeWords(v.Type())
	}
	d.Summary = fmt.Sprintf("Wrong type for %s", name)
	d.Detail = fmt.Sprintf("%s takes %s, but it was given %s.%s", name, wantWords(want), got, typeHint(want, got))
}

// wantWords is a cty type name as gohcl writes it ("string", "list of
// string", "number", "bool", "map of string") in words.
func wantWords(t string) string {
	switch {
	case t == "string":
		return `a string (text in quotes, such as "value")`
	case t == "number":
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "list of ") || strings.HasPrefix(t, "set of "):
		return fmt.Sprintf(`a list of %ss in brackets, such as ["a", "b"]`, strings.TrimPrefix(strings.TrimPrefix(t, "list of "), "set of "))
	case strings.HasPrefix(t, "map of "):
		return fmt.Sprintf(`a map of %ss, such as { NAME = "value" }`, strings.TrimPrefix(t, "map of "))
	}
	return "a " + t
}

func typeWords(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "true or false"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "a map or object"
	case t == cty.DynamicPseudoType:
		return "null"
	}
	return t.FriendlyName()
}

func typeHint(want, got string) string {
	switch {
	case want == "string" && got == "a list":
		return " Write one value in quotes, without the brackets."
	case want == "string" && got == "a number":
		return " Put it in quotes."
	case strings.HasPrefix(want, "list of ") && got == "a string":
		return " Put it in brackets: [\"value\"]."
	}
	return ""
}
