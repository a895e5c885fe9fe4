package jobs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// RenderJSON renders a job as `nomad job run -json` reads it: the API's JSON
// wrapped in {"Job": ...}, as `nomad job run -output` prints it.
func RenderJSON(job *api.Job) ([]byte, error) {
	b, err := json.MarshalIndent(struct{ Job *api.Job }{job}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("jobs: render json %s: %w", deref(job.ID), err)
	}
	return append(b, '\n'), nil
}

// RenderHCL renders a job as a Nomad HCL2 jobspec. It is a view of the
// *api.Job value built by the compiler: it writes exactly the fields the
// compiler sets, and the e2e suite checks that Nomad parses the text back
// into the same job.
func RenderHCL(job *api.Job) []byte {
	f := hclwrite.NewEmptyFile()
	jb := f.Body().AppendNewBlock("job", []string{deref(job.ID)}).Body()
	setStr(jb, "type", job.Type)
	setStr(jb, "region", job.Region)
	setStr(jb, "namespace", job.Namespace)
	setList(jb, "datacenters", job.Datacenters)
	setStr(jb, "node_pool", job.NodePool)
	if job.Priority != nil {
		jb.SetAttributeValue("priority", cty.NumberIntVal(int64(*job.Priority)))
	}
	writeMeta(jb, job.Meta)
	writeConstraints(jb, job.Constraints)
	if p := job.Periodic; p != nil {
		jb.AppendNewline()
		pb := jb.AppendNewBlock("periodic", nil).Body()
		setList(pb, "crons", p.Specs)
		setBool(pb, "prohibit_overlap", p.ProhibitOverlap)
		setStr(pb, "time_zone", p.TimeZone)
	}
	for _, tg := range job.TaskGroups {
		jb.AppendNewline()
		writeGroup(jb.AppendNewBlock("group", []string{deref(tg.Name)}).Body(), tg)
	}
	return hclwrite.Format(f.Bytes())
}

func writeGroup(gb *hclwrite.Body, tg *api.TaskGroup) {
	if tg.Count != nil {
		gb.SetAttributeValue("count", cty.NumberIntVal(int64(*tg.Count)))
	}
	for _, n := range tg.Networks {
		gb.AppendNewline()
		nb := gb.AppendNewBlock("network", nil).Body()
		if n.Mode != "" {
			nb.SetAttributeValue("mode", cty.StringVal(n.Mode))
		}
		for _, p := range n.DynamicPorts {
			nb.AppendNewBlock("port", []string{p.Label})
		}
	}
	for _, name := range sortedKeys(tg.Volumes) {
		v := tg.Volumes[name]
		gb.AppendNewline()
		vb := gb.AppendNewBlock("volume", []string{name}).Body()
		vb.SetAttributeValue("type", cty.StringVal(v.Type))
		vb.SetAttributeValue("source", cty.StringVal(v.Source))
		vb.SetAttributeValue("read_only", cty.BoolVal(v.ReadOnly))
	}
	if r := tg.RestartPolicy; r != nil {
		gb.AppendNewline()
		rb := gb.AppendNewBlock("restart", nil).Body()
		setInt(rb, "attempts", r.Attempts)
		setDuration(rb, "interval", r.Interval)
		setDuration(rb, "delay", r.Delay)
		setStr(rb, "mode", r.Mode)
	}
	if r := tg.ReschedulePolicy; r != nil {
		gb.AppendNewline()
		rb := gb.AppendNewBlock("reschedule", nil).Body()
		setInt(rb, "attempts", r.Attempts)
		setDuration(rb, "interval", r.Interval)
		setDuration(rb, "delay", r.Delay)
		setStr(rb, "delay_function", r.DelayFunction)
		setBool(rb, "unlimited", r.Unlimited)
	}
	for _, t := range tg.Tasks {
		gb.AppendNewline()
		writeTask(gb.AppendNewBlock("task", []string{t.Name}).Body(), t)
	}
}

func writeTask(tb *hclwrite.Body, t *api.Task) {
	tb.SetAttributeValue("driver", cty.StringVal(t.Driver))
	setDuration(tb, "kill_timeout", t.KillTimeout)
	if l := t.Lifecycle; l != nil {
		tb.AppendNewline()
		lb := tb.AppendNewBlock("lifecycle", nil).Body()
		lb.SetAttributeValue("hook", cty.StringVal(l.Hook))
		lb.SetAttributeValue("sidecar", cty.BoolVal(l.Sidecar))
	}
	tb.AppendNewline()
	cb := tb.AppendNewBlock("config", nil).Body()
	defer writeVolumeMounts(tb, t)
	for _, k := range sortedKeys(t.Config) {
		switch v := t.Config[k].(type) {
		case string:
			cb.SetAttributeValue(k, cty.StringVal(v))
		case []any:
			strs := make([]string, len(v))
			for i, s := range v {
				strs[i] = fmt.Sprint(s)
			}
			setList(cb, k, strs)
		}
	}
	if len(t.Env) > 0 {
		tb.AppendNewline()
		eb := tb.AppendNewBlock("env", nil).Body()
		for _, k := range sortedKeys(t.Env) {
			eb.SetAttributeValue(k, cty.StringVal(t.Env[k]))
		}
	}
	for _, a := range t.Artifacts {
		tb.AppendNewline()
		ab := tb.AppendNewBlock("artifact", nil).Body()
		setStr(ab, "source", a.GetterSource)
		setStr(ab, "destination", a.RelativeDest)
		if len(a.GetterOptions) > 0 {
			ob := ab.AppendNewBlock("options", nil).Body()
			for _, k := range sortedKeys(a.GetterOptions) {
				ob.SetAttributeValue(k, cty.StringVal(a.GetterOptions[k]))
			}
		}
	}
	for _, tpl := range t.Templates {
		tb.AppendNewline()
		pb := tb.AppendNewBlock("template", nil).Body()
		setStr(pb, "destination", tpl.DestPath)
		setStr(pb, "change_mode", tpl.ChangeMode)
		setStr(pb, "left_delimiter", tpl.LeftDelim)
		setStr(pb, "right_delimiter", tpl.RightDelim)
		if tpl.EmbeddedTmpl != nil {
			pb.SetAttributeRaw("data", heredoc(*tpl.EmbeddedTmpl))
		}
	}
	if v := t.Vault; v != nil {
		tb.AppendNewline()
		vb := tb.AppendNewBlock("vault", nil).Body()
		if v.Role != "" {
			vb.SetAttributeValue("role", cty.StringVal(v.Role))
		}
		setStr(vb, "change_mode", v.ChangeMode)
	}
	if t.Consul != nil {
		tb.AppendNewline()
		tb.AppendNewBlock("consul", nil)
	}
	if r := t.Resources; r != nil {
		tb.AppendNewline()
		rb := tb.AppendNewBlock("resources", nil).Body()
		setInt(rb, "cpu", r.CPU)
		setInt(rb, "memory", r.MemoryMB)
	}
}

func writeMeta(b *hclwrite.Body, meta map[string]string) {
	if len(meta) == 0 {
		return
	}
	b.AppendNewline()
	mb := b.AppendNewBlock("meta", nil).Body()
	for _, k := range sortedKeys(meta) {
		mb.SetAttributeValue(k, cty.StringVal(meta[k]))
	}
}

func writeConstraints(b *hclwrite.Body, cs []*api.Constraint) {
	for _, c := range cs {
		b.AppendNewline()
		cb := b.AppendNewBlock("constraint", nil).Body()
		if c.LTarget != "" {
			cb.SetAttributeValue("attribute", cty.StringVal(c.LTarget))
		}
		if c.Operand != "" && c.Operand != "=" {
			cb.SetAttributeValue("operator", cty.StringVal(c.Operand))
		}
		if c.RTarget != "" {
			cb.SetAttributeValue("value", cty.StringVal(c.RTarget))
		}
	}
}

// heredoc writes text as a heredoc, escaping HCL's template sequences so
// Nomad reads the exact bytes back.
func heredoc(text string) hclwrite.Tokens {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	text = strings.ReplaceAll(text, "${", "$${")
	text = strings.ReplaceAll(text, "%{", "%%{")
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<EOT\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(text)},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte("EOT")},
	}
}

func setStr(b *hclwrite.Body, name string, v *string) {
	if v != nil && *v != "" {
		b.SetAttributeValue(name, cty.StringVal(*v))
	}
}

func setInt(b *hclwrite.Body, name string, v *int) {
	if v != nil {
		b.SetAttributeValue(name, cty.NumberIntVal(int64(*v)))
	}
}

func setBool(b *hclwrite.Body, name string, v *bool) {
	if v != nil {
		b.SetAttributeValue(name, cty.BoolVal(*v))
	}
}

func setDuration(b *hclwrite.Body, name string, v *time.Duration) {
	if v != nil {
		b.SetAttributeValue(name, cty.StringVal(v.String()))
	}
}

func setList(b *hclwrite.Body, name string, vs []string) {
	if len(vs) == 0 {
		return
	}
	vals := make([]cty.Value, len(vs))
	for i, s := range vs {
		vals[i] = cty.StringVal(s)
	}
	b.SetAttributeValue(name, cty.ListVal(vals))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func writeVolumeMounts(tb *hclwrite.Body, t *api.Task) {
	for _, m := range t.VolumeMounts {
		tb.AppendNewline()
		mb := tb.AppendNewBlock("volume_mount", nil).Body()
		setStr(mb, "volume", m.Volume)
		setStr(mb, "destination", m.Destination)
		setBool(mb, "read_only", m.ReadOnly)
	}
}
