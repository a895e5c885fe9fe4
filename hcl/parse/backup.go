package parse

import (
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/vigil-backup/vigil/hcl/config"
)

// Defaults for fields a backup leaves out.
const (
	DefaultTimeout = time.Hour
	DefaultLockTTL = 15 * time.Second
	// Consul refuses session TTLs outside 10s..24h.
	minLockTTL = 10 * time.Second
	maxLockTTL = 24 * time.Hour
)

func decodeBackups(e *evaluator, blocks []*hcl.Block, storages *storageSet, defaults *nomadLayer) []config.Backup {
	var todo []*hcl.Block
	seen := map[string]hcl.Range{}
	for _, blk := range blocks {
		typ, name := blk.Labels[0], blk.Labels[1]
		if !knownType(typ) {
			e.errorf(blk.LabelRanges[0], "Unsupported backup type",
				"Backup type %q is not supported; use one of %s.", typ, quoteList(config.BackupTypes))
			continue
		}
		if !checkName(e, "backup", name, blk.LabelRanges[1]) {
			continue
		}
		if prev, dup := seen[name]; dup {
			e.diags = append(e.diags, duplicate("backup", name, blk.LabelRanges[1], prev))
			continue
		}
		seen[name] = blk.DefRange
		todo = append(todo, blk)
	}
	// Each backup decodes on its own evaluator (the context is only read),
	// spread over the CPUs; results and diagnostics keep the files' order.
	type result struct {
		b     config.Backup
		ok    bool
		diags hcl.Diagnostics
	}
	results := make([]result, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				own := &evaluator{ctx: e.ctx}
				blk := todo[i]
				results[i].b, results[i].ok = decodeBackup(own, blk, blk.Labels[0], blk.Labels[1], storages, defaults)
				results[i].diags = own.diags
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []config.Backup
	for _, r := range results {
		e.diags = append(e.diags, r.diags...)
		if r.ok {
			out = append(out, r.b)
		}
	}
	return out
}

func knownType(t string) bool {
	for _, k := range config.BackupTypes {
		if k == t {
			return true
		}
	}
	return false
}

func decodeBackup(e *evaluator, blk *hcl.Block, typ, name string, storages *storageSet, defaults *nomadLayer) (config.Backup, bool) {
	var raw rawBackup
	// dynamic blocks expand as in Terraform, e.g. an optional tls block.
	// Decoding goes on after gohcl's errors so one run reports them all.
	decoded := e.decodeFrom(blk.Body, dynblock.Expand(blk.Body, e.ctx), &raw)
	e.require(raw.Schedule, "schedule", blk.DefRange)
	e.require(raw.Storage, "storage", blk.DefRange)
	b := config.Backup{
		Type:     typ,
		Name:     name,
		Schedule: e.cron(raw.Schedule),
		TimeZone: e.timeZone(raw.TimeZone),
		Timeout:  e.duration(raw.Timeout, DefaultTimeout),
	}
	b.Grace = e.duration(raw.Grace, 0)
	b.AllowEmpty = raw.AllowEmpty
	if raw.Timeout != nil && b.Timeout == 0 {
		e.errorf(raw.Timeout.Expr.Range(), "Invalid timeout", "timeout must be greater than zero.")
	}
	dests, destRanges := resolveStorages(e, raw.Storage, storages)
	if len(dests) > 0 {
		b.Storage, b.Copies = dests[0], dests[1:]
	}
	if typ == config.TypeElasticsearch {
		// Elasticsearch writes its own snapshot files; vigil stores only the manifest.
		b.Compression = "none"
		if raw.Compression != nil {
			e.errorf(raw.Compression.Range, "Compression does not apply",
				"An elasticsearch backup's data is written by Elasticsearch into its snapshot repository; vigil compresses nothing.")
		}
	} else {
		b.Compression = e.enum(raw.Compression, "zstd", "zstd", "none")
	}
	b.Retain = decodeRetain(e, raw.Retain)
	// A backup's own encryption, else its storage's; its own signing, else
	// its storage's unless it encrypts. An encrypted backup's manifests
	// are signed by its encryption already.
	b.Encryption = decodeEncryption(e, raw.Encryption)
	b.Signing = decodeSigning(e, raw.Signing)
	if b.Encryption == nil {
		b.Encryption = b.Storage.Encryption
		if b.Signing == nil {
			b.Signing = b.Storage.Signing
		}
	}
	if b.Encryption != nil && b.Signing != nil {
		if raw.Signing != nil {
			e.errorf(raw.Signing.DefRange, "Signing beside encryption", "This backup is encrypted (by its own encryption block or its storage's), and an encrypted backup's manifests are signed already (an HMAC with the encryption key, or sign_key's ed25519 signature): remove the signing block.")
		}
		b.Signing = nil
	}
	checkCopies(e, &b, raw.Encryption != nil, raw.Signing != nil, destRanges)
	placeRefs(&b, destRanges)
	for i := range b.Destinations() {
		checkLockedRetention(e, b.At(i), blk.DefRange)
	}
	b.Lock = decodeLock(e, raw.Lock, name)
	decodeSource(e, blk, &raw, &b, decoded)
	b.Verify = decodeVerify(e, raw.Verify, typ)

	b.Nomad = defaults.resolve(e, decodeRawNomadLayer(e, jobNomad(e, raw.Nomad, typ)), &blk.DefRange)
	// A vault_raft run reads its cluster with the task's own Vault token.
	if storagesUseVault(&b) || b.TargetCreds() != nil || typ == config.TypeVaultRaft {
		b.Nomad.VaultEnabled = true
	}
	return b, true
}

func decodeRetain(e *evaluator, raw *rawRetain) config.Retain {
	var r config.Retain
	if raw == nil {
		return r
	}
	errs := e.errorCount()
	r.Last = e.nonNegative(raw.Last, 0)
	r.Daily = e.nonNegative(raw.Daily, 0)
	r.Weekly = e.nonNegative(raw.Weekly, 0)
	r.Monthly = e.nonNegative(raw.Monthly, 0)
	r.MaxAge = e.duration(raw.MaxAge, 0)
	// A setting refused above reads as zero: "keeps nothing" would be a
	// second error about the same mistake.
	if r == (config.Retain{}) && e.errorCount() == errs {
		e.errorf(raw.DefRange, "Retention keeps nothing",
			"This retain block keeps no backup: set last, daily, weekly, monthly or max_age above zero, or remove the block to keep every backup.")
	}
	return r
}

func decodeLock(e *evaluator, raw *rawLock, name string) config.Lock {
	l := config.Lock{Key: "vigil/locks/" + name, TTL: DefaultLockTTL}
	if raw == nil {
		return l
	}
	if raw.Key != nil {
		l.Key = e.str(raw.Key, l.Key)
		checkLockKey(e, l.Key, raw.Key.Expr.Range())
	}
	l.TTL = e.duration(raw.TTL, DefaultLockTTL)
	if raw.TTL != nil && (l.TTL < minLockTTL || l.TTL > maxLockTTL) {
		e.errorf(raw.TTL.Expr.Range(), "Invalid lock TTL",
			"Consul session TTLs must lie between %s and %s; got %s.", minLockTTL, maxLockTTL, l.TTL)
	}
	l.Wait = e.duration(raw.Wait, 0)
	return l
}

// decodeSource checks that the backup carries the source block its type
// needs, and only that one.
func decodeSource(e *evaluator, blk *hcl.Block, raw *rawBackup, b *config.Backup, decoded bool) {
	isConsul := b.Type == config.TypeConsulKV || b.Type == config.TypeConsulSnapshot
	wrong := func(block string, rng hcl.Range) {
		e.errorf(rng, "Unexpected "+block+" block",
			"A %s block does not apply to %s backups.", block, b.Type)
	}
	if raw.Consul != nil {
		if !isConsul {
			wrong("consul", raw.Consul.DefRange)
		} else {
			rc := raw.Consul
			b.Consul = &config.ConsulSource{Address: rc.Address, Datacenter: rc.Datacenter, Stale: rc.Stale,
				TLS:   decodeTLS(e, rc.CAFile, rc.CAPath, rc.CertFile, rc.KeyFile, rc.TLSServerName, rc.DefRange),
				Creds: decodeTargetCreds(e, rc.Credentials, b.Type)}
			if raw.Consul.Prefix != nil {
				if b.Type != config.TypeConsulKV {
					e.errorf(raw.Consul.Prefix.Range, "Unexpected prefix",
						"prefix only applies to consul_kv backups; a consul_snapshot always holds the whole cluster state.")
				}
				b.Consul.Prefix = e.str(raw.Consul.Prefix, "")
			}
		}
	} else if isConsul {
		b.Consul = &config.ConsulSource{}
	}
	if raw.Etcd != nil {
		if b.Type != config.TypeEtcd {
			wrong("etcd", blk.DefRange)
		} else {
			b.Etcd = decodeEtcd(e, raw.Etcd, blk.DefRange, decoded)
		}
	} else if b.Type == config.TypeEtcd {
		e.errorf(blk.DefRange, "Missing etcd block", "An etcd backup needs an etcd block with endpoints.")
	}
	if b.Type == config.TypeNomadSnapshot {
		b.NomadCluster = decodeNomadSource(e, raw.Nomad)
	}
	if raw.Vault != nil {
		if b.Type != config.TypeVaultRaft {
			wrong("vault", raw.Vault.DefRange)
		} else {
			v := raw.Vault
			b.VaultCluster = &config.VaultSource{Address: v.Address,
				TLS: decodeTLS(e, v.CAFile, v.CAPath, v.CertFile, v.KeyFile, v.TLSServerName, v.DefRange)}
			if v.Address != "" {
				checkURL(e, v.Address, "Vault address", v.DefRange)
			}
		}
	} else if b.Type == config.TypeVaultRaft {
		b.VaultCluster = &config.VaultSource{}
	}
	if raw.Elasticsearch != nil {
		if b.Type != config.TypeElasticsearch {
			wrong("elasticsearch", blk.DefRange)
		} else {
			b.Elasticsearch = decodeElasticsearch(e, raw.Elasticsearch, b.Name, blk.DefRange)
		}
	} else if b.Type == config.TypeElasticsearch {
		e.errorf(blk.DefRange, "Missing elasticsearch block", "An elasticsearch backup needs an elasticsearch block with url and repository.")
	}
	if raw.Command != nil {
		if b.Type != config.TypeCommand {
			wrong("command", raw.Command.DefRange)
		} else {
			b.Command = decodeCommand(e, raw.Command, b.Compression)
		}
	} else if b.Type == config.TypeCommand {
		e.errorf(blk.DefRange, "Missing command block", "A command backup needs a command block with dump (and restore): command { dump = [\"pg_dump\", \"--format=custom\"] }.")
	}
}

func decodeEtcd(e *evaluator, raw *rawEtcd, rng hcl.Range, decoded bool) *config.EtcdSource {
	s := &config.EtcdSource{Endpoints: raw.Endpoints, DialTimeout: e.duration(raw.DialTimeout, 5*time.Second)}
	if decoded && len(s.Endpoints) == 0 {
		e.errorf(rng, "No etcd endpoints", "endpoints must name at least one etcd client URL.")
	}
	for _, ep := range s.Endpoints {
		checkURL(e, ep, "etcd endpoint", rng)
	}
	s.TLS = decodeTLS(e, raw.CAFile, raw.CAPath, raw.CertFile, raw.KeyFile, raw.TLSServerName, raw.DefRange)
	if t := raw.TLS; t != nil {
		if s.TLS != nil {
			e.errorf(raw.DefRange, "TLS set twice", "Give the TLS settings either as attributes of the etcd block or in its tls block, not both.")
		}
		s.TLS = decodeTLS(e, t.CAFile, t.CAPath, t.CertFile, t.KeyFile, t.TLSServerName, raw.DefRange)
	}
	s.Creds = decodeTargetCreds(e, raw.Credentials, config.TypeEtcd)
	if s.Creds != nil && s.TLS == nil {
		e.errorf(raw.DefRange, "Client certificate without TLS", "A certificate from vault_pki_path needs the etcd endpoints over https and the CA that signed their certificates (ca_file).")
	}
	return s
}

func decodeElasticsearch(e *evaluator, raw *rawElasticsearch, name string, rng hcl.Range) *config.ElasticsearchSource {
	e.require(raw.URL, "url", raw.DefRange)
	e.require(raw.Repository, "repository", raw.DefRange)
	s := &config.ElasticsearchSource{
		URL:                e.str(raw.URL, ""),
		Repository:         e.str(raw.Repository, ""),
		Indices:            raw.Indices,
		IncludeGlobalState: raw.IncludeGlobalState,
		// Snapshot names must be lower case: a backup named ES-Main must
		// not validate and then fail every run.
		SnapshotPrefix: e.str(raw.SnapshotPrefix, "vigil-"+strings.ToLower(name)),
		TLS:            decodeTLS(e, raw.CAFile, raw.CAPath, raw.CertFile, raw.KeyFile, raw.TLSServerName, raw.DefRange),
		Creds:          decodeTargetCreds(e, raw.Credentials, config.TypeElasticsearch),
	}
	at := func(a *hcl.Attribute) hcl.Range {
		if a != nil {
			return a.Expr.Range()
		}
		return raw.DefRange
	}
	if raw.URL != nil {
		checkURL(e, s.URL, "Elasticsearch URL", at(raw.URL))
	}
	if raw.Repository != nil {
		checkESName(e, "repository", s.Repository, false, at(raw.Repository))
	}
	checkESName(e, "snapshot_prefix", s.SnapshotPrefix, true, at(raw.SnapshotPrefix))
	if rs := raw.RepositorySettings; rs != nil {
		e.require(rs.Type, "type", rs.DefRange)
		s.RepositorySettings = &config.RepositorySettings{
			Type:     e.enum(rs.Type, "", "s3", "fs"),
			Bucket:   rs.Bucket,
			BasePath: rs.BasePath,
			Client:   rs.Client,
			Location: rs.Location,
		}
		switch s.RepositorySettings.Type {
		case "s3":
			if rs.Bucket == "" {
				e.errorf(rs.DefRange, "Missing repository bucket", "An s3 snapshot repository needs bucket.")
			}
		case "fs":
			if rs.Location == "" {
				e.errorf(rs.DefRange, "Missing repository location", "An fs snapshot repository needs location.")
			}
		}
	}
	return s
}

// checkURL requires an http(s) URL without user info: a password in a URL
// would be compiled into the job and shown by render and plan.
func checkURL(e *evaluator, raw, what string, rng hcl.Range) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		e.errorf(rng, "Invalid "+what, "%q is not an http:// or https:// URL.", config.RedactURL(raw))
	case u.User != nil:
		e.errorf(rng, "Credentials in "+what, "%q carries user info; credentials never go in a spec (they would be compiled into the job in clear text). Give them through Vault or the client's environment.", config.RedactURL(raw))
	}
}

// esBadChars are the characters Elasticsearch refuses in repository and
// snapshot names (Strings.INVALID_FILENAME_CHARS, and '#').
const esBadChars = "\\/*?\"<>|,# "

// checkESName applies Elasticsearch's naming rules, so a name that every
// run would fail on is refused here: none of \ / * ? " < > | , # or space,
// no leading '_', and for snapshot names lower case.
func checkESName(e *evaluator, what, name string, lower bool, rng hcl.Range) {
	switch {
	case name == "":
		e.errorf(rng, "Invalid "+what, "%s must not be empty.", what)
	case strings.ContainsAny(name, esBadChars):
		e.errorf(rng, "Invalid "+what, "%q contains a character Elasticsearch refuses in names (\\ / * ? \" < > | , # or a space).", name)
	case strings.HasPrefix(name, "_"):
		e.errorf(rng, "Invalid "+what, "%q must not start with \"_\".", name)
	case lower && name != strings.ToLower(name):
		e.errorf(rng, "Invalid "+what, "%q must be lower case: Elasticsearch refuses snapshot names with upper-case letters.", name)
	}
}

// checkLockKey refuses lock keys that would reach outside vigil's place or
// collide with its records: a lock in the run records' prefix would be
// read, and overwritten, as a record.
func checkLockKey(e *evaluator, key string, rng hcl.Range) {
	switch {
	case key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/"):
		e.errorf(rng, "Invalid lock key", "%q must be a relative key such as \"vigil/locks/NAME\", without a leading or trailing \"/\".", key)
	case strings.Contains("/"+key+"/", "/../") || strings.Contains("/"+key+"/", "/./") || strings.Contains(key, "//"):
		e.errorf(rng, "Invalid lock key", "%q must not contain \"..\", \".\" or empty path segments.", key)
	case inPrefix(key, config.RecordPrefix):
		e.errorf(rng, "Invalid lock key", "%q lies in %q, where vigil keeps its run records; use a key such as \"vigil/locks/NAME\".", key, config.RecordPrefix)
	case inPrefix(key, config.HistoryPrefix):
		e.errorf(rng, "Invalid lock key", "%q lies in %q, where vigil keeps its run history; use a key such as \"vigil/locks/NAME\".", key, config.HistoryPrefix)
	}
}

// inPrefix reports whether key lies in prefix or contains it.
func inPrefix(key, prefix string) bool {
	return strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/")
}
