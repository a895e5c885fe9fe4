// Package parse evaluates vigil's HCL2 spec language into config.Config.
//
// A directory of *.hcl files is one configuration, as in Terraform or Nomad
// Pack: block names are unique across all files. Every problem is reported as
// an hcl.Diagnostic whose Subject points at the offending source range, and
// all problems are collected before returning.
package parse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/zclconf/go-cty/cty"
)

// Options carry what the CLI adds to the spec files.
type Options struct {
	// Vars are -var NAME=VALUE flags, applied after VarFiles.
	Vars []string
	// VarFiles are -var-file paths.
	VarFiles []string
	// LookupEnv backs env(); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// DefaultID is the configuration's ID when no config_id is set; Load
	// derives it from the spec directory's name.
	DefaultID string
}

type fileParser interface {
	ParseHCL(src []byte, filename string) (*hcl.File, hcl.Diagnostics)
}

// Load evaluates the spec at path, a directory of *.hcl files or one file.
// It returns the parsed files too, so callers can print source snippets. The
// config is nil whenever the diagnostics hold an error.
func Load(path string, opts Options) (*config.Config, map[string]*hcl.File, hcl.Diagnostics) {
	p := hclparse.NewParser()
	files, diags := specFiles(path)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	if opts.DefaultID == "" {
		opts.DefaultID = idFromPath(path)
	}
	cfg, d := load(p, files, opts)
	return cfg, p.Files(), append(diags, d...)
}

// idFromPath names a configuration after its directory (a file's
// directory for a single file), in the characters a job ID allows.
func idFromPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		abs = filepath.Dir(abs)
	}
	return sanitizeID(filepath.Base(abs))
}

var idUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// sanitizeID lowers a name into [a-z0-9-], at most 40 characters.
func sanitizeID(s string) string {
	s = strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		return "default"
	}
	return s
}

// LoadBytes evaluates one in-memory spec file; fuzzing and tests use it.
func LoadBytes(filename string, src []byte, opts Options) (*config.Config, map[string]*hcl.File, hcl.Diagnostics) {
	p := &memParser{Parser: hclparse.NewParser(), src: map[string][]byte{filename: src}}
	cfg, diags := load(p, []string{filename}, opts)
	return cfg, p.Files(), diags
}

type memParser struct {
	*hclparse.Parser
	src map[string][]byte
}

// source is a file's bytes: the ones given to LoadBytes, or the disk's.
func source(p fileParser, name string) ([]byte, error) {
	if m, ok := p.(*memParser); ok {
		if b, ok := m.src[name]; ok {
			return b, nil
		}
	}
	return os.ReadFile(name)
}

// readSpec reads one spec file and refuses one that is not text, with one
// error naming it: parsed, a binary gives an error per byte, each quoting
// raw bytes into the terminal.
func readSpec(p fileParser, name string) ([]byte, hcl.Diagnostics) {
	src, err := source(p, name)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read file", Detail: err.Error()}}
	}
	bad := bytes.IndexByte(src, 0)
	for i := 0; bad < 0 && !utf8.Valid(src) && i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 { // an encoding error, not U+FFFD itself
			bad = i
		}
		i += size
	}
	if bad < 0 {
		return src, nil
	}
	line := 1 + bytes.Count(src[:bad], []byte("\n"))
	col := 1 + bad - (bytes.LastIndexByte(src[:bad], '\n') + 1)
	pos := hcl.Pos{Line: line, Column: col, Byte: bad}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Spec file is not text",
		Detail:   fmt.Sprintf("%s holds bytes that are not UTF-8 text. Spec files are HCL text; is this a binary, or a file in another encoding?", name),
		Subject:  &hcl.Range{Filename: name, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: bad + 1}},
	}}
}

func specFiles(path string) ([]string, hcl.Diagnostics) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec path", Detail: err.Error()}}
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.hcl"))
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot list spec files", Detail: err.Error()}}
	}
	sort.Strings(matches)
	if len(matches) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No spec files",
			Detail:   fmt.Sprintf("The directory %s holds no *.hcl files.", path),
		}}
	}
	return matches, nil
}

// blockSet gathers the root blocks of every file by type.
type blockSet map[string][]*hcl.Block

type parsed struct {
	f     *hcl.File
	diags hcl.Diagnostics
}

// parseAll parses the files concurrently (a directory may hold hundreds),
// and registers them with p in order, so diagnostics can quote them.
func parseAll(p fileParser, files []string) []parsed {
	out := make([]parsed, len(files))
	hp, ok := p.(*hclparse.Parser)
	if !ok || len(files) < 4 {
		for i, name := range files {
			var src []byte
			if src, out[i].diags = readSpec(p, name); src != nil {
				out[i].f, out[i].diags = p.ParseHCL(src, name)
			}
		}
		return out
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, name := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var src []byte
			if src, out[i].diags = readSpec(p, name); src != nil {
				out[i].f, out[i].diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
			}
		}()
	}
	wg.Wait()
	for i, name := range files {
		if out[i].f != nil {
			hp.AddFile(name, out[i].f)
		}
	}
	return out
}

func load(p fileParser, files []string, opts Options) (*config.Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	blocks := blockSet{}
	var idAttrs []*hcl.Attribute
	for _, pf := range parseAll(p, files) {
		f, d := pf.f, pf.diags
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		content, d := f.Body.Content(rootSchema)
		diags = append(diags, d...)
		for _, b := range content.Blocks {
			blocks[b.Type] = append(blocks[b.Type], b)
		}
		if a := content.Attributes["config_id"]; a != nil {
			idAttrs = append(idAttrs, a)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}

	funcs := functions(opts.LookupEnv)
	vars, d := decodeVariables(blocks["variable"], &hcl.EvalContext{Functions: funcs})
	diags = append(diags, d...)
	diags = append(diags, applyVarFlags(p, vars, opts.Vars, opts.VarFiles)...)
	diags = append(diags, checkVariablesSet(vars)...)
	if diags.HasErrors() {
		return nil, diags
	}
	varVals := map[string]cty.Value{}
	for name, v := range vars {
		varVals[name] = v.value
	}
	e := &evaluator{ctx: &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(varVals)},
		Functions: funcs,
	}}

	cfg := &config.Config{ID: decodeID(e, idAttrs, opts.DefaultID)}
	cfg.Consul = decodeControl(e, single(e, blocks["consul"]))
	if b := single(e, blocks["vault"]); b != nil {
		var raw rawVault
		e.decode(b.Body, &raw)
		cfg.Vault = config.Vault{Address: raw.Address, Namespace: raw.Namespace,
			TLS: decodeTLS(e, raw.CAFile, raw.CAPath, raw.CertFile, raw.KeyFile, raw.TLSServerName, b.DefRange)}
		if raw.Address != "" {
			checkURL(e, raw.Address, "Vault address", b.DefRange)
		}
	}
	defaults := decodeNomadLayer(e, single(e, blocks["nomad"]))
	cfg.Telemetry = decodeTelemetry(e, single(e, blocks["telemetry"]))
	cfg.Serve = config.Serve{Count: 1, Node: "vigil"}
	if b := single(e, blocks["serve"]); b != nil {
		var raw rawServe
		e.decode(b.Body, &raw)
		cfg.Serve.Address = raw.Address
		if raw.Count != nil {
			if *raw.Count < 1 {
				e.errorf(b.DefRange, "Invalid serve count", "count must be at least 1.")
			}
			cfg.Serve.Count = *raw.Count
		}
		if raw.Node != "" {
			cfg.Serve.Node = raw.Node
		}
	}
	cfg.Nomad = defaults.resolve(e, nil, nil)
	cfg.Nomad.Address, cfg.Nomad.TLS = defaults.client(e)

	storages := decodeStorages(e, blocks["storage"])
	for _, s := range storages.list {
		cfg.Storages = append(cfg.Storages, *s)
	}
	cfg.Backups = decodeBackups(e, blocks["backup"], storages, defaults)
	if cfg.Consul.Enabled && len(cfg.Backups) > 0 {
		checkServeNomad(e, cfg.Nomad, defaults)
	}
	for i := range cfg.Backups {
		if blk := backupBlock(blocks["backup"], cfg.Backups[i].Name); blk != nil {
			checkCircularEncryption(e, &cfg.Backups[i], cfg.Vault.Address, blk.DefRange)
		}
	}

	diags = append(diags, e.diags...)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

func decodeVariables(blocks []*hcl.Block, funcs *hcl.EvalContext) (map[string]*variable, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := map[string]*variable{}
	for _, b := range blocks {
		v, d := decodeVariable(b, funcs)
		diags = append(diags, d...)
		if v == nil {
			continue
		}
		if prev, dup := vars[v.name]; dup {
			diags = append(diags, duplicate("variable", v.name, b.LabelRanges[0], prev.defRange))
			continue
		}
		vars[v.name] = v
	}
	return vars, diags
}

// single returns the only block of a singleton type, reporting extras.
func single(e *evaluator, blocks []*hcl.Block) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		e.errorf(b.DefRange, fmt.Sprintf("Duplicate %s block", b.Type),
			"Only one top-level %s block is allowed across all spec files. The first is at %s.", b.Type, blocks[0].DefRange)
	}
	return blocks[0]
}

func duplicate(kind, name string, at, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind + " name",
		Detail:   fmt.Sprintf("A %s named %q is already declared at %s. Names must be unique across all spec files.", kind, name, prev),
		Subject:  at.Ptr(),
	}
}

// decodeID reads config_id (at most one across the files), or defaults.
func decodeID(e *evaluator, attrs []*hcl.Attribute, def string) string {
	if def == "" {
		def = "default"
	}
	if len(attrs) == 0 {
		return def
	}
	for _, a := range attrs[1:] {
		e.errorf(a.Range, "Duplicate config_id", "config_id is set once across all spec files; the first is at %s.", attrs[0].Range)
	}
	id := e.str(attrs[0], def)
	if id != sanitizeID(id) {
		e.errorf(attrs[0].Expr.Range(), "Invalid config_id", "%q must be lower-case letters, digits and dashes, at most 40 characters (it becomes part of job IDs).", id)
		return def
	}
	return id
}

func decodeControl(e *evaluator, b *hcl.Block) config.Control {
	c := config.Control{Enabled: true}
	if b == nil {
		return c
	}
	var raw rawControl
	if !e.decode(b.Body, &raw) {
		return c
	}
	if raw.Enabled != nil {
		c.Enabled = *raw.Enabled
	}
	c.Address, c.Datacenter, c.Namespace = raw.Address, raw.Datacenter, raw.Namespace
	if raw.RunHistory != nil {
		if e.value(raw.RunHistory, &c.RunHistory) && (c.RunHistory < 1 || c.RunHistory > 10000) {
			e.errorf(raw.RunHistory.Expr.Range(), "Invalid run_history", "run_history is how many past runs each backup keeps: 1 to 10000, got %d.", c.RunHistory)
			c.RunHistory = 0
		}
	}
	// def_range is filled for nested blocks only: this one is top-level.
	c.TLS = decodeTLS(e, raw.CAFile, raw.CAPath, raw.CertFile, raw.KeyFile, raw.TLSServerName, b.DefRange)
	if c.Address != "" && strings.Contains(c.Address, "://") {
		checkURL(e, c.Address, "control Consul address", b.DefRange)
	}
	return c
}

func decodeTelemetry(e *evaluator, b *hcl.Block) config.Telemetry {
	var t config.Telemetry
	if b == nil {
		return t
	}
	var raw rawTelemetry
	if !e.decode(b.Body, &raw) {
		return t
	}
	t.StatsdAddress, t.DogStatsdAddress, t.DogStatsdTags = raw.StatsdAddress, raw.DogStatsdAddress, raw.DogStatsdTags
	t.PrometheusRetentionTime = e.duration(raw.PrometheusRetentionTime, 0)
	for _, tag := range raw.DogStatsdTags {
		if !strings.Contains(tag, ":") {
			e.errorf(b.DefRange, "Invalid dogstatsd tag", "Tag %q is not of the form key:value.", tag)
		}
	}
	return t
}

// backupBlock finds the block of the named backup.
func backupBlock(blocks []*hcl.Block, name string) *hcl.Block {
	for _, b := range blocks {
		if len(b.Labels) == 2 && b.Labels[1] == name {
			return b
		}
	}
	return nil
}
