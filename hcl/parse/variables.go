package parse

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

type rawVariable struct {
	Name        string         `hcl:"name,label"`
	Default     *hcl.Attribute `hcl:"default,optional"`
	Type        *hcl.Attribute `hcl:"type,optional"`
	Description string         `hcl:"description,optional"`
	DefRange    hcl.Range      `hcl:",def_range"`
}

type variable struct {
	name     string
	ty       cty.Type
	value    cty.Value
	defRange hcl.Range
}

// decodeVariable reads one variable block. Its value starts as the default.
// Defaults may call functions (env("REGION"), as in Packer) but not refer
// to other variables.
func decodeVariable(block *hcl.Block, funcs *hcl.EvalContext) (*variable, hcl.Diagnostics) {
	var raw rawVariable
	diags := gohcl.DecodeBody(block.Body, nil, &raw)
	raw.Name = block.Labels[0]
	if diags.HasErrors() {
		return nil, diags
	}
	if !hclsyntax.ValidIdentifier(raw.Name) {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid variable name",
			Detail:   fmt.Sprintf("%q is not a valid identifier: use letters, digits, underscores and dashes, starting with a letter.", raw.Name),
			Subject:  &block.LabelRanges[0],
		})
	}
	v := &variable{name: raw.Name, ty: cty.DynamicPseudoType, value: cty.NullVal(cty.DynamicPseudoType), defRange: block.DefRange}
	if raw.Type != nil {
		ty, tyDiags := typeexpr.TypeConstraint(raw.Type.Expr)
		diags = append(diags, tyDiags...)
		if tyDiags.HasErrors() {
			return nil, diags
		}
		v.ty = ty
	}
	if raw.Default != nil {
		val, valDiags := raw.Default.Expr.Value(funcs)
		diags = append(diags, valDiags...)
		if valDiags.HasErrors() {
			return nil, diags
		}
		conv, err := convert.Convert(val, v.ty)
		if err != nil {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid default value for variable",
				Detail:   fmt.Sprintf("The default for variable %q does not fit its type: %s.", raw.Name, err),
				Subject:  raw.Default.Expr.Range().Ptr(),
			})
		}
		v.value = conv
	}
	return v, diags
}

// setFromString assigns a -var value. Strings are taken literally; other
// types are parsed as HCL expressions, as Terraform does.
func (v *variable) setFromString(raw string, rng hcl.Range) hcl.Diagnostics {
	var val cty.Value
	if v.ty == cty.String || v.ty == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		// Not valid HCL (say "many" for a number): convert the text as a
		// string, which yields the type error the operator needs to see.
		val = cty.StringVal(raw)
		if expr, diags := hclsyntax.ParseExpression([]byte(raw), rng.Filename, rng.Start); !diags.HasErrors() {
			if v, valDiags := expr.Value(nil); !valDiags.HasErrors() {
				val = v
			}
		}
	}
	return v.set(val, rng)
}

func (v *variable) set(val cty.Value, rng hcl.Range) hcl.Diagnostics {
	conv, err := convert.Convert(val, v.ty)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value given for variable %q does not fit its type %s: %s.", v.name, v.ty.FriendlyName(), err),
			Subject:  rng.Ptr(),
		}}
	}
	v.value = conv
	return nil
}

// applyVarFlags applies -var-file files first and then -var flags, so a flag
// wins over a file, as in Terraform.
func applyVarFlags(p fileParser, vars map[string]*variable, flags []string, files []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, path := range files {
		src, fDiags := readSpec(p, path)
		var f *hcl.File
		if src != nil {
			f, fDiags = p.ParseHCL(src, path)
		}
		diags = append(diags, fDiags...)
		if fDiags.HasErrors() {
			continue
		}
		attrs, aDiags := f.Body.JustAttributes()
		diags = append(diags, aDiags...)
		for name, attr := range attrs {
			v, ok := vars[name]
			if !ok {
				diags = append(diags, undeclaredVariable(name, attr.NameRange))
				continue
			}
			val, vDiags := attr.Expr.Value(nil)
			diags = append(diags, vDiags...)
			if !vDiags.HasErrors() {
				diags = append(diags, v.set(val, attr.Expr.Range())...)
			}
		}
	}
	for _, flag := range flags {
		rng := hcl.Range{Filename: "<-var " + flag + ">", Start: hcl.InitialPos, End: hcl.InitialPos}
		name, value, ok := strings.Cut(flag, "=")
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid -var option",
				Detail:   fmt.Sprintf("The -var option %q is not of the form NAME=VALUE.", flag),
				Subject:  rng.Ptr(),
			})
			continue
		}
		v, ok := vars[name]
		if !ok {
			diags = append(diags, undeclaredVariable(name, rng))
			continue
		}
		diags = append(diags, v.setFromString(value, rng)...)
	}
	return diags
}

func undeclaredVariable(name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value for undeclared variable",
		Detail:   fmt.Sprintf("No variable %q is declared. Declare it with a variable block before giving it a value.", name),
		Subject:  rng.Ptr(),
	}
}

// checkVariablesSet reports variables that have neither a default nor a value.
func checkVariablesSet(vars map[string]*variable) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(vars) {
		v := vars[name]
		if v.value.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("Variable %q has no default. Give it a value with -var %s=VALUE or -var-file.", name, name),
				Subject:  v.defRange.Ptr(),
			})
		}
	}
	return diags
}
