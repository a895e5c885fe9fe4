package parse

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Defaults for a backup's Nomad job when no nomad block says otherwise.
const (
	DefaultBinary   = "/usr/local/bin/vigil"
	DefaultCPU      = 200
	DefaultMemoryMB = 256
)

// nomadLayer is one nomad block, decoded but not merged: the top-level block
// gives defaults, and a backup's own block overrides them field by field.
type nomadLayer struct {
	raw      rawNomad
	present  bool
	driver   string
	priority *int
	// artifact and checksum go together: a layer that sets an artifact
	// sets its checksum too (none when it gives none), so a backup's own
	// artifact never inherits the checksum of the default's.
	artifact, checksum *string
	networkMode        *string
	env                map[string]string
	mounts             []config.Mount
	defRange           hcl.Range
}

func decodeNomadLayer(e *evaluator, b *hcl.Block) *nomadLayer {
	l := &nomadLayer{}
	if b == nil {
		return l
	}
	l.defRange = b.DefRange
	return l.fill(e, b.Body)
}

func decodeRawNomadLayer(e *evaluator, raw *rawNomad) *nomadLayer {
	l := &nomadLayer{}
	if raw == nil {
		return l
	}
	l.raw, l.present, l.defRange = *raw, true, raw.DefRange
	l.evalFields(e)
	if a, t := l.client(e); a != "" || t != nil {
		e.errorf(raw.DefRange, "Nomad API settings in a backup", "address and the TLS settings say how vigil reaches the Nomad API for plan and apply; they belong in the top-level nomad block.")
	}
	return l
}

// client is the top-level block's Nomad API address and TLS settings.
func (l *nomadLayer) client(e *evaluator) (string, *config.TLS) {
	r := l.raw
	address := ""
	if r.Address != nil {
		address = *r.Address
		checkURL(e, address, "Nomad address", l.defRange)
	}
	return address, decodeTLS(e, r.CAFile, r.CAPath, r.CertFile, r.KeyFile, r.TLSServerName, l.defRange)
}

func (l *nomadLayer) fill(e *evaluator, body hcl.Body) *nomadLayer {
	if !e.decode(body, &l.raw) {
		return l
	}
	l.present = true
	l.evalFields(e)
	return l
}

func (l *nomadLayer) evalFields(e *evaluator) {
	l.driver = e.enum(l.raw.Driver, "", config.DriverDocker, config.DriverExec, config.DriverRawExec)
	l.evalArtifact(e)
	l.evalTask(e)
	if l.raw.Priority != nil {
		var p int
		if e.value(l.raw.Priority, &p) {
			if p < 1 || p > 100 {
				e.errorf(l.raw.Priority.Expr.Range(), "Invalid job priority", "Nomad job priorities run from 1 to 100; got %d.", p)
			} else {
				l.priority = &p
			}
		}
	}
	if r := l.raw.Resources; r != nil {
		if r.CPU != nil && *r.CPU < 1 {
			e.errorf(l.defRange, "Invalid resources", "cpu must be at least 1 MHz.")
		}
		if r.Memory != nil && *r.Memory < 10 {
			e.errorf(l.defRange, "Invalid resources", "memory must be at least 10 MB.")
		}
	}
}

// resolve merges the defaults (l) with a backup's override and checks the
// driver settings. usesVault turns the Vault identity block on.
func (l *nomadLayer) resolve(e *evaluator, over *nomadLayer, blockRange *hcl.Range) config.Nomad {
	n := config.Nomad{
		Datacenters: []string{"*"},
		Driver:      config.DriverExec,
		CPU:         DefaultCPU,
		MemoryMB:    DefaultMemoryMB,
	}
	for _, layer := range []*nomadLayer{l, over} {
		if layer == nil || !layer.present {
			continue
		}
		r := layer.raw
		setIf(&n.Datacenters, r.Datacenters)
		setIf(&n.Region, r.Region)
		setIf(&n.Namespace, r.Namespace)
		setIf(&n.NodePool, r.NodePool)
		setIf(&n.Image, r.Image)
		if layer.artifact != nil {
			n.Artifact, n.ArtifactChecksum = *layer.artifact, ""
			setIf(&n.ArtifactChecksum, layer.checksum)
		}
		setIf(&n.Binary, r.Binary)
		if layer.driver != "" {
			n.Driver = layer.driver
		}
		if layer.priority != nil {
			n.Priority = *layer.priority
		}
		for _, c := range r.Constraints {
			n.Constraints = append(n.Constraints, config.Constraint{Attribute: c.Attribute, Operator: c.Operator, Value: c.Value})
		}
		if r.Resources != nil {
			setIf(&n.CPU, r.Resources.CPU)
			setIf(&n.MemoryMB, r.Resources.Memory)
		}
		if r.Vault != nil {
			n.VaultEnabled = true
			if r.Vault.Role != "" {
				n.VaultRole = r.Vault.Role
			}
		}
		if r.Consul != nil {
			n.ConsulIdentity = true
		}
		layer.mergeTask(&n)
	}
	if n.Driver != config.DriverDocker && n.Binary == "" && n.Artifact == "" {
		n.Binary = DefaultBinary // the serve job's too: never an empty command
	}
	if blockRange == nil {
		// The top-level defaults are checked where a job uses them alone
		// (checkServeNomad); backups are checked here.
		return n
	}
	checkNetworkMode(e, n, *blockRange)
	switch n.Driver {
	case config.DriverDocker:
		if n.Image == "" {
			e.errorf(*blockRange, "Missing docker image",
				"The docker driver needs image = \"...\" in this backup's nomad block or the top-level one.")
		}
		if n.Artifact != "" {
			e.errorf(*blockRange, "Artifact with docker driver",
				"artifact only applies to the exec and raw_exec drivers; the docker image carries the vigil binary.")
		}
	default:
		if n.Image != "" {
			e.errorf(*blockRange, "Image without docker driver",
				"image only applies to the docker driver; this backup uses %s.", n.Driver)
		}
	}
	return n
}

// checkServeNomad checks the top-level nomad block where the vigil-serve
// job is compiled from it alone: with the docker driver it needs an image.
func checkServeNomad(e *evaluator, n config.Nomad, l *nomadLayer) {
	checkNetworkMode(e, n, l.defRange)
	if n.Driver == config.DriverDocker && n.Image == "" {
		e.errorf(l.defRange, "Missing docker image",
			"The vigil-serve job runs with the top-level nomad block's settings, and the docker driver needs image = \"...\" there.")
	}
}

// checksumHexLen is the hex length of each checksum type go-getter (and so
// Nomad's artifact block) checks.
var checksumHexLen = map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

// evalArtifact reads artifact and artifact_checksum. An http(s) artifact
// without a checksum is a warning: Nomad would run whatever the server
// sends.
func (l *nomadLayer) evalArtifact(e *evaluator) {
	r := l.raw
	errs := e.errorCount()
	if r.Artifact != nil {
		a := e.str(r.Artifact, "")
		l.artifact = &a
	}
	if r.ArtifactChecksum != nil {
		c := e.str(r.ArtifactChecksum, "")
		rng := r.ArtifactChecksum.Expr.Range()
		typ, sum, _ := strings.Cut(c, ":")
		want, known := checksumHexLen[typ]
		switch {
		case c == "": // none, as when left out (a variable's empty default)
		case r.Artifact == nil:
			e.errorf(rng, "Checksum without artifact",
				"artifact_checksum checks the artifact set in the same nomad block; set artifact here too.")
		case !known || len(sum) != want || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "":
			e.errorf(rng, "Invalid artifact checksum",
				"%q is not a checksum Nomad can check: give \"sha256:\" and 64 hex digits (sha512, sha1 and md5 work too), as `sha256sum` prints it.", c)
		default:
			l.checksum = &c
		}
	}
	// An error above already says what is wrong with the artifact block.
	if l.artifact != nil && l.checksum == nil && e.errorCount() == errs &&
		(strings.HasPrefix(*l.artifact, "https://") || strings.HasPrefix(*l.artifact, "http://")) {
		e.diags = append(e.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Artifact without a checksum",
			Detail:   "Nomad runs whatever this URL serves. Add artifact_checksum = \"sha256:...\" (the release's SHA256SUMS line) so a changed or truncated download fails the job instead.",
			Subject:  r.Artifact.Expr.Range().Ptr(),
		})
	}
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
