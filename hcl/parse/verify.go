package parse

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// decodeVerify reads a verify block and rejects assertions that do not fit
// the backup type: key counts for Consul and etcd, document counts for
// Elasticsearch.
func decodeVerify(e *evaluator, raw *rawVerify, typ string) *config.Verify {
	if raw == nil {
		return nil
	}
	v := &config.Verify{
		Schedule:    e.cron(raw.Schedule),
		AfterBackup: raw.AfterBackup,
		MaxDuration: e.duration(raw.MaxDuration, 30*60e9),
		MaxAge:      e.duration(raw.MaxAge, 0),
		MinKeys:     e.nonNegative(raw.MinKeys, 0),
	}
	isES := typ == config.TypeElasticsearch
	if sc := raw.Scratch; sc != nil {
		v.Scratch = &config.Scratch{Consul: sc.Consul, Etcd: sc.Etcd, Etcdutl: sc.Etcdutl, Artifact: sc.Artifact, Image: sc.Image}
		if isES {
			e.errorf(sc.DefRange, "Scratch does not apply",
				"An elasticsearch drill restores into the configured cluster under a scratch prefix; it starts no scratch server.")
		}
		if sc.Consul != "" && typ == config.TypeEtcd || (sc.Etcd != "" || sc.Etcdutl != "") && typ != config.TypeEtcd {
			e.errorf(sc.DefRange, "Scratch binary does not fit the backup type",
				"A %s drill needs %s.", typ, map[bool]string{true: "etcd and etcdutl", false: "consul"}[typ == config.TypeEtcd])
		}
	}
	notFor := func(rng hcl.Range, what, types string) {
		e.errorf(rng, "Assertion does not fit the backup type",
			"%s applies to %s backups, and this is a %s backup.", what, types, typ)
	}
	if raw.MinKeys != nil && isES {
		notFor(raw.MinKeys.Range, "min_keys", "consul_kv, consul_snapshot and etcd")
	}
	for _, k := range raw.Keys {
		if isES {
			notFor(k.DefRange, "A key assertion", "consul_kv, consul_snapshot and etcd")
			continue
		}
		v.Keys = append(v.Keys, config.KeyAssertion{Key: k.Key, Value: k.Value})
	}
	for _, p := range raw.Prefixes {
		if isES {
			notFor(p.DefRange, "A prefix assertion", "consul_kv, consul_snapshot and etcd")
			continue
		}
		e.require(p.MinKeys, "min_keys", p.DefRange)
		v.Prefixes = append(v.Prefixes, config.PrefixAssertion{Prefix: p.Prefix, MinKeys: e.nonNegative(p.MinKeys, 0)})
	}
	for _, ix := range raw.Indices {
		if !isES {
			notFor(ix.DefRange, "An index assertion", "elasticsearch")
			continue
		}
		e.require(ix.MinDocs, "min_docs", ix.DefRange)
		var n int64
		if e.value(ix.MinDocs, &n) && n < 0 {
			e.errorf(ix.MinDocs.Expr.Range(), "Invalid min_docs", "min_docs must be zero or more.")
		}
		v.Indices = append(v.Indices, config.IndexAssertion{Pattern: ix.Pattern, MinDocs: n})
	}
	return v
}
