package parse

import (
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
	defRange hcl.Range
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
		setIf(&n.Artifact, r.Artifact)
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
	}
	if blockRange == nil {
		// The top-level defaults alone are not a job; only backups are checked.
		return n
	}
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
		if n.Binary == "" && n.Artifact == "" {
			n.Binary = DefaultBinary
		}
	}
	return n
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
