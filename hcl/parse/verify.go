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
		v.Scratch = &config.Scratch{Consul: sc.Consul, Etcd: sc.Etcd, Etcdutl: sc.Etcdutl, Nomad: sc.Nomad, Vault: sc.Vault, Artifact: sc.Artifact, Image: sc.Image}
		if isES {
			e.errorf(sc.DefRange, "Scratch does not apply",
				"An elasticsearch drill restores into the configured cluster under a scratch prefix; it starts no scratch server.")
		}
		set := map[string]bool{"consul": sc.Consul != "", "etcd": sc.Etcd != "" || sc.Etcdutl != "", "nomad": sc.Nomad != "", "vault": sc.Vault != ""}
		need := scratchNeeds[typ]
		for bin, given := range set {
			if given && bin != need.key && !isES {
				e.errorf(sc.DefRange, "Scratch binary does not fit the backup type", "A %s drill needs %s.", typ, need.says)
				break
			}
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
	decodeControlPlaneVerify(e, raw, typ, v, notFor)
	decodeCommandVerify(e, raw, typ, v, notFor)
	return v
}

// scratchNeeds is the scratch binary each type's drill starts.
var scratchNeeds = map[string]struct{ key, says string }{
	config.TypeConsulSnapshot: {"consul", "consul"},
	config.TypeConsulKV:       {"consul", "consul"},
	config.TypeEtcd:           {"etcd", "etcd and etcdutl"},
	config.TypeNomadSnapshot:  {"nomad", "nomad"},
	config.TypeVaultRaft:      {"vault", "vault"},
}

// decodeControlPlaneVerify reads the assertions of Nomad and Vault drills,
// and how a Vault drill unseals the restored copy.
func decodeControlPlaneVerify(e *evaluator, raw *rawVerify, typ string, v *config.Verify, notFor func(hcl.Range, string, string)) {
	isNomad, isVault := typ == config.TypeNomadSnapshot, typ == config.TypeVaultRaft
	if raw.MinJobs != nil {
		if isNomad {
			v.MinJobs = e.nonNegative(raw.MinJobs, 0)
		} else {
			notFor(raw.MinJobs.Range, "min_jobs", "nomad_snapshot")
		}
	}
	for _, list := range []struct {
		raw  []rawNomadObject
		dst  *[]config.NomadObject
		what string
	}{{raw.Jobs, &v.Jobs, "A job assertion"}, {raw.Variables, &v.Variables, "A variable assertion"}} {
		for _, o := range list.raw {
			if !isNomad {
				notFor(o.DefRange, list.what, "nomad_snapshot")
				continue
			}
			*list.dst = append(*list.dst, config.NomadObject{Name: o.Name, Namespace: o.Namespace})
		}
	}
	if (raw.MinKeys != nil || len(raw.Keys) > 0 || len(raw.Prefixes) > 0) && (isNomad || isVault) {
		rng := raw.DefRange
		if raw.MinKeys != nil {
			rng = raw.MinKeys.Range
		}
		notFor(rng, "A key assertion", "consul_kv, consul_snapshot and etcd")
	}
	vd := &config.VaultDrill{}
	attr := func(a *hcl.Attribute) string {
		if a == nil {
			return ""
		}
		if !isVault {
			notFor(a.Range, a.Name, "vault_raft")
		}
		return e.str(a, "")
	}
	vd.UnsealKeysFile, vd.RecoveryKeysFile = attr(raw.UnsealKeysFile), attr(raw.RecoveryKeysFile)
	for _, sl := range raw.Seals {
		switch {
		case !isVault:
			notFor(sl.DefRange, "A seal block", "vault_raft")
		case sl.Type != "transit":
			e.errorf(sl.DefRange, "Unsupported seal", "A drill can use the production cluster's transit seal only (seal \"transit\"); got %q.", sl.Type)
		case vd.Transit != nil:
			e.errorf(sl.DefRange, "Duplicate seal block", "Give one seal \"transit\" block.")
		default:
			vd.Transit = &config.TransitSeal{Address: sl.Address, KeyName: sl.KeyName, MountPath: sl.MountPath, Namespace: sl.Namespace,
				TLS: decodeTLS(e, sl.CAFile, "", sl.CertFile, sl.KeyFile, sl.TLSServerName, sl.DefRange)}
			checkURL(e, sl.Address, "transit seal address", sl.DefRange)
		}
	}
	for _, list := range []struct {
		raw  []rawLabel
		dst  *[]string
		what string
	}{{raw.Mounts, &vd.Mounts, "A mount assertion"}, {raw.Secrets, &vd.Secrets, "A secret assertion"}} {
		for _, l := range list.raw {
			if !isVault {
				notFor(l.DefRange, list.what, "vault_raft")
				continue
			}
			*list.dst = append(*list.dst, l.Name)
		}
	}
	if !isVault {
		return
	}
	switch {
	case vd.UnsealKeysFile != "" && vd.Transit != nil:
		e.errorf(raw.UnsealKeysFile.Range, "Two ways to unseal", "Give unseal_keys_file (Shamir seal) or a seal \"transit\" block with recovery_keys_file, not both.")
	case vd.Transit != nil && vd.RecoveryKeysFile == "":
		e.errorf(raw.Seals[0].DefRange, "Missing recovery_keys_file", "With a transit seal the restored copy unseals itself, and the drill needs the recovery keys (recovery_keys_file) to get a token for its checks.")
	case vd.RecoveryKeysFile != "" && vd.Transit == nil:
		e.errorf(raw.RecoveryKeysFile.Range, "recovery_keys_file without a seal", "recovery_keys_file goes with a seal \"transit\" block; a Shamir-sealed cluster takes unseal_keys_file.")
	case !vd.Unseals() && (len(vd.Mounts) > 0 || len(vd.Secrets) > 0):
		rng := raw.DefRange
		if len(raw.Mounts) > 0 {
			rng = raw.Mounts[0].DefRange
		} else if len(raw.Secrets) > 0 {
			rng = raw.Secrets[0].DefRange
		}
		e.errorf(rng, "Assertions without a way to unseal", "Mount and secret assertions read a restored, unsealed copy: give unseal_keys_file, or a seal \"transit\" block with recovery_keys_file.")
	}
	if vd.Unseals() || len(vd.Mounts) > 0 || len(vd.Secrets) > 0 {
		v.Vault = vd
	}
}
