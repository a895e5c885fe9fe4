package main

import (
	"fmt"
	"strings"

	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks"
)

// RewrapCommand wraps encrypted backups' data keys with the newest
// version of their Transit key.
type RewrapCommand struct{ *Meta }

func (c *RewrapCommand) Synopsis() string {
	return "Re-wrap encrypted backups' data keys with the newest Transit key version"
}

func (c *RewrapCommand) Help() string {
	return strings.TrimSpace(`
Usage: vigil rewrap (-backup NAME | -all) [options]

  After "vault write -f transit/keys/KEY/rotate", wraps the data key of
  every good, encrypted backup again with the key's newest version
  (transit/rewrap: the plaintext never leaves Vault) and signs and writes
  its manifest again. No data object is read or rewritten. Once every
  backup is rewrapped, the key's min_decryption_version may be raised.

  The token needs "update" on transit/rewrap/KEY, transit/hmac/KEY (or
  transit/sign/SIGN_KEY) and transit/verify/KEY.

Rewrap Options:

  -all  Every encrypted backup of the configuration.

` + runtimeFlagsHelp)
}

func (c *RewrapCommand) Run(args []string) int {
	var rf runtimeFlags
	var all bool
	fs := c.flagSet("rewrap")
	rf.register(fs)
	fs.BoolVar(&all, "all", false, "")
	if err := fs.Parse(args); err != nil {
		return exitFail
	}
	if all == (rf.backup != "") {
		c.errorf("rewrap: give -backup NAME or -all")
		return exitFail
	}
	cfg, ok := c.loadAll(&rf)
	if !ok {
		return exitFail
	}
	var backups []*config.Backup
	for i := range cfg.Backups {
		b := &cfg.Backups[i]
		if all && b.Encryption != nil || b.Name == rf.backup {
			backups = append(backups, b)
		}
	}
	if len(backups) == 0 {
		c.errorf("rewrap: no encrypted backup named %q", rf.backup)
		return exitFail
	}
	d, ok := c.deps(cfg, &rf)
	if !ok {
		return exitFail
	}
	ctx, stop := signalContext()
	defer stop()
	failed := false
	for _, b := range allDestinations(backups) {
		s, sess, ok := c.openStore(ctx, d, b, "rewrap")
		if !ok {
			failed = true
			continue
		}
		res, err := tasks.Rewrap(ctx, d, b, s)
		sess.Close(ctx)
		if res != nil {
			for _, sk := range res.Skipped {
				c.errorf("vigil: rewrap %s: skipped %s", b.Name, sk)
			}
			fmt.Fprintf(c.Stdout, "%s: %d rewrapped, %d already on the newest key version\n", b.Name, res.Rewrapped, res.Current)
		}
		if err != nil {
			c.errorf("vigil: rewrap %s: %v", b.Name, err)
			failed = true
		}
	}
	return boolExit(!failed)
}

// allDestinations is each backup as stored in each of its storages: a
// backup with several has its manifests in each.
func allDestinations(backups []*config.Backup) []*config.Backup {
	var out []*config.Backup
	for _, b := range backups {
		for i := range b.Destinations() {
			out = append(out, b.At(i))
		}
	}
	return out
}
