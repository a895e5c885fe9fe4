package parse

import (
	"fmt"
	"reflect"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigil-backup/vigil/hcl/config"
)

// checkCopies checks a backup's destinations against one stream: the
// bytes are taken, compressed, encrypted and signed once, so every storage
// in the list must agree on the keys the backup takes from them.
// ownEnc and ownSign say whether the backup has its own encryption or
// signing block, which overrides its storages'.
func checkCopies(e *evaluator, b *config.Backup, ownEnc, ownSign bool, ranges []hcl.Range) {
	for i := range b.Copies {
		c, rng := &b.Copies[i], ranges[i+1]
		if b.Type == config.TypeElasticsearch {
			e.errorf(rng, "One storage for an elasticsearch backup",
				"An elasticsearch backup's data is written by Elasticsearch into its own snapshot repository, and vigil stores only the manifest: it has one storage. Register a second repository for a second copy.")
			return
		}
		if !ownEnc && !reflect.DeepEqual(c.Encryption, b.Storage.Encryption) {
			e.errorf(rng, "Storages with different encryption",
				"Every storage in the list gets the same bytes, encrypted once with one key, but %s's encryption block differs from %s's. Give the backup its own encryption block, or the storages the same one.", c.Ref(), b.Storage.Ref())
		}
		if !ownEnc && !ownSign && b.Encryption == nil && !reflect.DeepEqual(c.Signing, b.Storage.Signing) {
			e.errorf(rng, "Storages with different signing",
				"Every storage in the list gets the same manifest, signed once, but %s's signing block differs from %s's. Give the backup its own signing block, or the storages the same one.", c.Ref(), b.Storage.Ref())
		}
	}
}

// placeRefs records where the backup names each destination, so that a
// check made when its job is compiled (a local storage without its host
// volume) can point at the spec.
func placeRefs(b *config.Backup, ranges []hcl.Range) {
	for i, r := range ranges {
		pos := fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
		if i == 0 {
			b.Storage.RefPos = pos
		} else if i-1 < len(b.Copies) {
			b.Copies[i-1].RefPos = pos
		}
	}
}

// storagesUseVault reports whether any destination takes its
// credentials from Vault.
func storagesUseVault(b *config.Backup) bool {
	for _, s := range b.Destinations() {
		if s.Credentials.UsesVault() {
			return true
		}
	}
	return false
}
