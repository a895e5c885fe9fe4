package parse

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

type storageSet struct {
	list   []*config.Storage
	byName map[string]*config.Storage // name -> storage; names are unique across kinds
	ranges map[string]hcl.Range
	// broken names storages declared with an error already reported: a
	// reference to one is not a second error.
	broken map[string]bool
}

var (
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	vaultAWSPath     = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/(creds|sts)/[A-Za-z0-9_.@-]+$`)
	vaultPathPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.@-]+)+$`)
)

func checkName(e *evaluator, kind, name string, rng hcl.Range) bool {
	if namePattern.MatchString(name) {
		return true
	}
	e.errorf(rng, "Invalid "+kind+" name",
		"%q is not a valid name: use up to 63 letters, digits, dashes and underscores, starting with a letter or digit. It becomes part of Nomad job IDs and Consul keys.", name)
	return false
}

func decodeStorages(e *evaluator, blocks []*hcl.Block) *storageSet {
	set := &storageSet{byName: map[string]*config.Storage{}, ranges: map[string]hcl.Range{}, broken: map[string]bool{}}
	for _, b := range blocks {
		kind, name := b.Labels[0], b.Labels[1]
		if !checkName(e, "storage", name, b.LabelRanges[1]) {
			set.broken[name] = true
			continue
		}
		if prev, dup := set.ranges[name]; dup {
			e.diags = append(e.diags, duplicate("storage", name, b.LabelRanges[1], prev))
			continue
		}
		var s *config.Storage
		switch kind {
		case config.StorageS3:
			s = decodeS3(e, b)
		case config.StorageLocal:
			s = decodeLocal(e, b)
		case config.StorageGCS:
			s = decodeGCS(e, b)
		case config.StorageAzure:
			s = decodeAzure(e, b)
		default:
			e.errorf(b.LabelRanges[0], "Unsupported storage kind",
				"Storage kind %q is not supported; use \"s3\", \"gcs\", \"azure\" or \"local\".", kind)
			continue
		}
		if s == nil {
			set.broken[name] = true
			continue
		}
		s.Kind, s.Name = kind, name
		set.list = append(set.list, s)
		set.byName[name] = s
		set.ranges[name] = b.DefRange
	}
	return set
}

func decodeS3(e *evaluator, b *hcl.Block) *config.Storage {
	var raw rawS3
	if !e.decode(b.Body, &raw) {
		return nil
	}
	s := &config.Storage{
		Bucket:    raw.Bucket,
		Prefix:    raw.Prefix,
		Region:    raw.Region,
		PathStyle: raw.PathStyle,
		SSE:       e.enum(raw.SSE, "", "", "AES256", "aws:kms"),
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	s.DownloadConcurrency = decodeDownloadConcurrency(e, raw.DownloadConcurrency)
	s.Prefix = decodePrefix(e, raw.Prefix, "S3", b.DefRange)
	s.Endpoint = decodeEndpoint(e, raw.Endpoint, "S3")
	if raw.Credentials == nil {
		e.errorf(b.DefRange, "Missing credentials block",
			"An s3 storage needs a credentials block with exactly one of vault_aws_path, vault_kv_path, vault_identity_sts or environment = true.")
		return s
	}
	s.Credentials = decodeCredentials(e, raw.Credentials)
	s.ObjectLock = decodeObjectLock(e, raw.ObjectLock)
	s.Retain = decodeStorageRetain(e, raw.Retain)
	decodeKeys(e, s, raw.Encryption, raw.Signing)
	return s
}

var (
	// Google's and Microsoft's naming rules, so a typo fails at validate.
	gcsBucketPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$`)
	azureAccountPattern   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	azureContainerPattern = regexp.MustCompile(`^[a-z0-9](-?[a-z0-9])+$`)
)

// decodeGCS reads a Google Cloud Storage bucket. Without a credentials
// block the SDK's own chain applies, as for gcloud.
func decodeGCS(e *evaluator, b *hcl.Block) *config.Storage {
	var raw rawGCS
	if !e.decode(b.Body, &raw) {
		return nil
	}
	if !gcsBucketPattern.MatchString(raw.Bucket) {
		e.errorf(b.DefRange, "Invalid GCS bucket", "%q is not a bucket name: 3 to 63 lowercase letters, digits, dots, dashes and underscores.", raw.Bucket)
	}
	s := &config.Storage{Bucket: raw.Bucket}
	s.Prefix = decodePrefix(e, raw.Prefix, "GCS", b.DefRange)
	s.Endpoint = decodeEndpoint(e, raw.Endpoint, "GCS")
	s.DownloadConcurrency = decodeDownloadConcurrency(e, raw.DownloadConcurrency)
	s.Credentials = decodeCloudCredentials(e, raw.Credentials, "gcs", "service_account_json")
	s.Retain = decodeStorageRetain(e, raw.Retain)
	decodeKeys(e, s, raw.Encryption, raw.Signing)
	return s
}

// decodeAzure reads an Azure Blob Storage container.
func decodeAzure(e *evaluator, b *hcl.Block) *config.Storage {
	var raw rawAzure
	if !e.decode(b.Body, &raw) {
		return nil
	}
	if !azureAccountPattern.MatchString(raw.Account) {
		e.errorf(b.DefRange, "Invalid Azure storage account", "%q is not a storage account name: 3 to 24 lowercase letters and digits.", raw.Account)
	}
	if len(raw.Container) < 3 || len(raw.Container) > 63 || !azureContainerPattern.MatchString(raw.Container) {
		e.errorf(b.DefRange, "Invalid Azure container", "%q is not a container name: 3 to 63 lowercase letters, digits and single dashes, starting and ending with a letter or digit.", raw.Container)
	}
	s := &config.Storage{Account: raw.Account, Container: raw.Container}
	s.Prefix = decodePrefix(e, raw.Prefix, "Azure", b.DefRange)
	s.Endpoint = decodeEndpoint(e, raw.Endpoint, "Azure blob service")
	s.DownloadConcurrency = decodeDownloadConcurrency(e, raw.DownloadConcurrency)
	s.Credentials = decodeCloudCredentials(e, raw.Credentials, "azure", "account_key")
	s.Retain = decodeStorageRetain(e, raw.Retain)
	decodeKeys(e, s, raw.Encryption, raw.Signing)
	return s
}

// decodeCloudCredentials reads a gcs or azure storage's credentials: a
// Vault KV secret holding the key (field), or the SDK's own chain, which
// is also what no block means.
func decodeCloudCredentials(e *evaluator, raw *rawCredentials, kind, field string) config.Credentials {
	if raw == nil {
		return config.Credentials{Source: config.CredEnvironment}
	}
	c := decodeCredentials(e, raw)
	switch c.Source {
	case config.CredVaultKV, config.CredEnvironment, "":
	default:
		e.errorf(raw.DefRange, "Credential source does not fit the storage",
			"A %s storage takes vault_kv_path (a KV v2 secret with %s) or environment = true (the SDK's own chain, also what no credentials block means); %s is for S3.", kind, field, c.Source)
	}
	return c
}

// decodeKeys reads a storage's encryption and signing blocks.
func decodeKeys(e *evaluator, s *config.Storage, enc *rawEncryption, sign *rawSigning) {
	s.Encryption = decodeEncryption(e, enc)
	s.Signing = decodeSigning(e, sign)
	checkSigningBeside(e, sign, s.Encryption)
}

// decodePrefix ends a prefix with "/" and refuses a leading one.
func decodePrefix(e *evaluator, p, kind string, rng hcl.Range) string {
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if strings.HasPrefix(p, "/") {
		e.errorf(rng, "Invalid "+kind+" prefix", "The prefix %q must not start with \"/\".", p)
	}
	return p
}

// decodeEndpoint reads an http:// or https:// URL.
func decodeEndpoint(e *evaluator, attr *hcl.Attribute, what string) string {
	if attr == nil {
		return ""
	}
	v := e.str(attr, "")
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.errorf(attr.Expr.Range(), "Invalid "+what+" endpoint", "%q is not an http:// or https:// URL.", config.RedactURL(v))
	}
	return v
}

// decodeDownloadConcurrency reads the range requests in flight when an
// object is read back; 0 is the machine's default.
func decodeDownloadConcurrency(e *evaluator, attr *hcl.Attribute) int {
	if attr == nil {
		return 0
	}
	n := 0
	if e.value(attr, &n) && (n < 1 || n > 16) {
		e.errorf(attr.Expr.Range(), "Invalid value for download_concurrency",
			"download_concurrency must be between 1 (one request, no ranges) and 16, got %d; leave it out for one more than the cores (3 to 8).", n)
		return 0
	}
	return n
}

func decodeCredentials(e *evaluator, raw *rawCredentials) config.Credentials {
	var c config.Credentials
	var first hcl.Range
	pick := func(source string, rng hcl.Range) bool {
		if c.Source != "" {
			e.errorf(rng, "Conflicting credential sources",
				"Credentials already come from %s (set at %s); give exactly one source.", c.Source, first)
			return false
		}
		c.Source, first = source, rng
		return true
	}
	if raw.VaultAWSPath != nil && pick(config.CredVaultAWS, raw.VaultAWSPath.Range) {
		c.VaultPath = e.str(raw.VaultAWSPath, "")
		if !vaultAWSPath.MatchString(c.VaultPath) {
			e.errorf(raw.VaultAWSPath.Expr.Range(), "Invalid Vault AWS path",
				"%q is not a Vault AWS secrets engine path such as \"aws/creds/ROLE\" or \"aws/sts/ROLE\".", c.VaultPath)
		}
	}
	if raw.VaultKVPath != nil && pick(config.CredVaultKV, raw.VaultKVPath.Range) {
		c.VaultPath = kvDataPath(e.str(raw.VaultKVPath, ""))
		if !vaultPathPattern.MatchString(c.VaultPath) {
			e.errorf(raw.VaultKVPath.Expr.Range(), "Invalid Vault KV path",
				"%q is not a KV v2 path such as \"secret/data/vigil/s3\" or \"secret/vigil/s3\".", c.VaultPath)
		}
	}
	if raw.VaultIdentitySTS != nil && pick(config.CredVaultIdentitySTS, raw.VaultIdentitySTS.DefRange) {
		c.IdentityRole = raw.VaultIdentitySTS.Role
		c.RoleARN = raw.VaultIdentitySTS.RoleARN
		c.Duration = e.duration(raw.VaultIdentitySTS.Duration, 0)
		if c.Duration != 0 && (c.Duration.Seconds() < 900 || c.Duration.Hours() > 12) {
			e.errorf(raw.VaultIdentitySTS.Duration.Expr.Range(), "Invalid STS duration",
				"STS sessions last between 15m and 12h; got %s. Leave duration out to end the keys with the Vault identity token.", c.Duration)
		}
	}
	if raw.Environment != nil {
		var on bool
		if e.value(raw.Environment, &on) && on {
			pick(config.CredEnvironment, raw.Environment.Range)
		}
	}
	if c.Source == "" {
		e.errorf(raw.DefRange, "No credential source",
			"The credentials block needs exactly one of vault_aws_path, vault_kv_path, vault_identity_sts or environment = true.")
	}
	return c
}

// kvDataPath turns "MOUNT/PATH" into the KV v2 API path "MOUNT/data/PATH".
// A path that already has "data" as its second segment is kept.
func kvDataPath(p string) string {
	p = strings.Trim(p, "/")
	mount, rest, ok := strings.Cut(p, "/")
	if !ok || strings.HasPrefix(rest, "data/") {
		return p
	}
	return mount + "/data/" + rest
}

func decodeLocal(e *evaluator, b *hcl.Block) *config.Storage {
	var raw rawLocal
	if !e.decode(b.Body, &raw) || !e.require(raw.Path, "path", b.DefRange) {
		return nil
	}
	var p string
	if !e.value(raw.Path, &p) {
		return nil
	}
	if p == "" {
		e.errorf(raw.Path.Expr.Range(), "Invalid local path", "path must not be empty.")
		return nil
	}
	// A relative path is relative to the spec file, not to wherever vigil
	// happens to run; the compiled job then carries an absolute path.
	if !filepath.IsAbs(p) {
		abs, err := filepath.Abs(filepath.Join(filepath.Dir(raw.Path.Expr.Range().Filename), p))
		if err != nil {
			e.errorf(raw.Path.Expr.Range(), "Invalid local path", "%s", err)
			return nil
		}
		p = abs
	}
	st := &config.Storage{Path: filepath.Clean(p), Encryption: decodeEncryption(e, raw.Encryption), Signing: decodeSigning(e, raw.Signing),
		Retain: decodeStorageRetain(e, raw.Retain)}
	checkSigningBeside(e, raw.Signing, st.Encryption)
	if raw.HostVolume != nil {
		st.HostVolume = e.str(raw.HostVolume, "")
		if !namePattern.MatchString(st.HostVolume) {
			e.errorf(raw.HostVolume.Expr.Range(), "Invalid host volume name",
				"%q is not a Nomad host volume name: the name of a host_volume block in the clients' configuration.", st.HostVolume)
		}
	}
	return st
}

// resolveStorage follows a storage.KIND.NAME reference.
// resolveStorages reads a backup's storage: one reference, or a list of
// them (every destination of one stream), each storage at most once.
// Each destination comes with its reference's range.
func resolveStorages(e *evaluator, attr *hcl.Attribute, set *storageSet) ([]config.Storage, []hcl.Range) {
	if attr == nil {
		return nil, nil // gohcl already reported the missing argument
	}
	exprs, d := hcl.ExprList(attr.Expr)
	if d.HasErrors() {
		exprs = []hcl.Expression{attr.Expr} // not a list: one reference
	} else if len(exprs) == 0 {
		e.errorf(attr.Expr.Range(), "Empty storage list", "storage lists where the backup goes; name at least one storage, such as storage.s3.NAME.")
		return nil, nil
	}
	var out []config.Storage
	var ranges []hcl.Range
	seen := map[string]hcl.Range{}
	for _, x := range exprs {
		s := resolveStorage(e, x, set)
		if s == nil {
			continue
		}
		if prev, dup := seen[s.Name]; dup {
			e.errorf(x.Range(), "Storage listed twice",
				"%s is already in this list (at %s): each storage holds one copy; list another storage for a second copy.", s.Ref(), prev)
			continue
		}
		seen[s.Name] = x.Range()
		out = append(out, *s)
		ranges = append(ranges, x.Range())
	}
	return out, ranges
}

func resolveStorage(e *evaluator, expr hcl.Expression, set *storageSet) *config.Storage {
	rng := expr.Range()
	trav, d := hcl.AbsTraversalForExpr(expr)
	if d.HasErrors() {
		e.errorf(rng, "Invalid storage reference",
			"storage must be a reference such as storage.s3.NAME, or a list of them ([storage.s3.NAME, storage.gcs.OTHER]), not a string or expression.")
		return nil
	}
	if trav.RootName() != "storage" {
		e.errorf(rng, "Invalid storage reference",
			"storage must refer to a storage block (storage.KIND.NAME); %s is a reference to %q.", traversalString(trav), trav.RootName())
		return nil
	}
	if len(trav) != 3 {
		e.errorf(rng, "Invalid storage reference", "A storage reference has the form storage.KIND.NAME; got %s.", traversalString(trav))
		return nil
	}
	kind, okK := trav[1].(hcl.TraverseAttr)
	name, okN := trav[2].(hcl.TraverseAttr)
	if !okK || !okN {
		e.errorf(rng, "Invalid storage reference", "A storage reference has the form storage.KIND.NAME; got %s.", traversalString(trav))
		return nil
	}
	s, ok := set.byName[name.Name]
	if !ok && set.broken[name.Name] {
		return nil
	}
	if !ok {
		e.errorf(rng, "Reference to undeclared storage",
			"No storage %q %q is declared in any spec file.%s", kind.Name, name.Name, suggest(set))
		return nil
	}
	if s.Kind != kind.Name {
		e.errorf(rng, "Reference to undeclared storage",
			"No storage %q %q is declared; %q is a %q storage. Use %s.", kind.Name, name.Name, name.Name, s.Kind, s.Ref())
		return nil
	}
	return s
}

func suggest(set *storageSet) string {
	if len(set.list) == 0 {
		return " Declare one with a storage \"s3\" \"NAME\" or storage \"local\" \"NAME\" block."
	}
	refs := make([]string, 0, len(set.list))
	for _, s := range set.list {
		refs = append(refs, s.Ref())
	}
	return fmt.Sprintf(" Declared: %s.", strings.Join(refs, ", "))
}

func traversalString(t hcl.Traversal) string {
	var sb strings.Builder
	sb.WriteString(t.RootName())
	for _, step := range t[1:] {
		switch s := step.(type) {
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		default:
			sb.WriteString("[...]")
		}
	}
	return sb.String()
}

// decodeStorageRetain reads a storage's own retain block: what backups
// keep in it, over their own retain.
func decodeStorageRetain(e *evaluator, raw *rawRetain) *config.Retain {
	if raw == nil {
		return nil
	}
	r := decodeRetain(e, raw)
	return &r
}
