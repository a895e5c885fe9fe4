package parse

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/vigil-backup/vigil/hcl/config"
)

// jobNomad decodes a backup's nomad block as job settings, except in a
// nomad_snapshot backup, where the block names the cluster backed up.
func jobNomad(e *evaluator, raw *rawBlock, typ string) *rawNomad {
	if raw == nil || typ == config.TypeNomadSnapshot {
		return nil
	}
	var rn rawNomad
	if !e.decode(raw.Body, &rn) {
		return nil
	}
	rn.DefRange = raw.DefRange
	return &rn
}

// decodeNomadSource reads a nomad_snapshot backup's nomad block: the
// cluster's address, region and TLS, and the token's Vault source. Job
// settings do not belong here; they come from the top-level nomad block.
func decodeNomadSource(e *evaluator, raw *rawBlock) *config.NomadSource {
	if raw == nil {
		return &config.NomadSource{}
	}
	source, _ := gohcl.ImpliedBodySchema(rawNomadSource{})
	jobs, _ := gohcl.ImpliedBodySchema(rawNomad{})
	own := map[string]bool{}
	for _, a := range source.Attributes {
		own[a.Name] = true
	}
	var misplaced hcl.BodySchema
	for _, a := range jobs.Attributes {
		if !own[a.Name] {
			misplaced.Attributes = append(misplaced.Attributes, hcl.AttributeSchema{Name: a.Name})
		}
	}
	misplaced.Blocks = jobs.Blocks
	content, rest, _ := raw.Body.PartialContent(&misplaced)
	var found []hcl.Range
	for _, a := range content.Attributes {
		found = append(found, a.NameRange)
	}
	for _, b := range content.Blocks {
		found = append(found, b.TypeRange)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Start.Byte < found[j].Start.Byte })
	for _, rng := range found {
		e.errorf(rng, "Job setting in a nomad_snapshot's nomad block",
			"In a nomad_snapshot backup the nomad block names the cluster backed up (address, region, stale, TLS, credentials); the job's own settings come from the top-level nomad block.")
	}
	var r rawNomadSource
	if !e.decode(rest, &r) {
		return &config.NomadSource{}
	}
	s := &config.NomadSource{Address: r.Address, Region: r.Region, Stale: r.Stale,
		TLS:   decodeTLS(e, r.CAFile, r.CAPath, r.CertFile, r.KeyFile, r.TLSServerName, raw.DefRange),
		Creds: decodeTargetCreds(e, r.Credentials, config.TypeNomadSnapshot)}
	if s.Address != "" {
		checkURL(e, s.Address, "Nomad address", raw.DefRange)
	}
	return s
}
