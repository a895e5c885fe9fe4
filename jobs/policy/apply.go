package policy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Clients reach what Apply writes to. A nil client skips its system, and
// Apply says so.
type Clients struct {
	// Consul returns a client for a Consul server of a Policy (ControlServer
	// or a backed-up Consul's address), with a token that may write ACLs.
	Consul func(p Policy) (*consul.Client, error)
	Vault  *vault.Client
	Nomad  *nomad.Client
	// Etcd returns a client as etcd's root user for a user's cluster.
	Etcd func(u EtcdUser) (*clientv3.Client, error)
}

// Change is what Apply did, or would do, to one object.
type Change struct {
	System string `json:"system"`
	Object string `json:"object"`
	// Action is created, updated, unchanged, skipped or deleted.
	Action string `json:"action"`
}

func (c Change) String() string {
	mark := map[string]string{"created": "+", "updated": "~", "unchanged": "=", "skipped": "!", "deleted": "-"}[c.Action]
	return fmt.Sprintf("%s %s %s (%s)", mark, c.System, c.Object, c.Action)
}

// Apply writes the setup, idempotently: each object is read first and
// written only when it differs. It reports every object.
func Apply(ctx context.Context, s *Setup, c Clients, report func(Change)) error {
	var errs []error
	// The old configuration-wide identities go first: until they do,
	// every job holds their rights beside its own.
	for _, r := range s.Retired {
		errs = append(errs, applyRetired(ctx, r, c, report))
	}
	for _, p := range s.Policies {
		errs = append(errs, applyPolicy(ctx, p, c, report))
	}
	for _, r := range s.ConsulRoles {
		errs = append(errs, applyConsulRole(r, c, report))
	}
	for _, b := range s.BindingRules {
		errs = append(errs, applyBindingRule(b, c, report))
	}
	for _, o := range s.VaultObjects {
		errs = append(errs, applyVaultObject(ctx, o, c, report))
	}
	for _, u := range s.EtcdUsers {
		errs = append(errs, applyEtcdUser(ctx, u, c, report))
	}
	return errors.Join(errs...)
}

func applyPolicy(ctx context.Context, p Policy, c Clients, report func(Change)) error {
	text := p.Text()
	object := "policy " + p.Name
	if p.Server != "" {
		object += " on " + p.Server
	}
	if p.Manual {
		report(Change{p.System, object + ": the backups' token comes from the environment; give it this policy yourself", "skipped"})
		return nil
	}
	switch p.System {
	case SystemConsul:
		if c.Consul == nil {
			report(Change{p.System, object, "skipped"})
			return nil
		}
		cc, err := c.Consul(p)
		if err != nil {
			return err
		}
		acl := cc.ACL()
		cur, _, err := acl.PolicyReadByName(p.Name, nil)
		if err != nil && !strings.Contains(err.Error(), "404") {
			return fmt.Errorf("setup: consul: read %s: %w", object, err)
		}
		switch {
		case cur == nil:
			_, _, err = acl.PolicyCreate(&consul.ACLPolicy{Name: p.Name, Rules: text, Description: "vigil setup"}, nil)
			return done(report, Change{p.System, object, "created"}, err)
		case cur.Rules == text:
			report(Change{p.System, object, "unchanged"})
			return nil
		}
		cur.Rules = text
		_, _, err = acl.PolicyUpdate(cur, nil)
		return done(report, Change{p.System, object, "updated"}, err)
	case SystemVault:
		if c.Vault == nil {
			report(Change{p.System, object, "skipped"})
			return nil
		}
		cur, err := c.Vault.Sys().GetPolicyWithContext(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("setup: vault: read %s: %w", object, err)
		}
		if cur == text {
			report(Change{p.System, object, "unchanged"})
			return nil
		}
		err = c.Vault.Sys().PutPolicyWithContext(ctx, p.Name, text)
		return done(report, Change{p.System, object, map[bool]string{true: "created", false: "updated"}[cur == ""]}, err)
	case SystemNomad:
		if c.Nomad == nil {
			report(Change{p.System, object, "skipped"})
			return nil
		}
		if p.Server != "" && strings.TrimSuffix(p.Server, "/") != strings.TrimSuffix(c.Nomad.Address(), "/") {
			report(Change{p.System, object + ": setup writes to the Nomad at " + c.Nomad.Address() + " only; give this policy there yourself", "skipped"})
			return nil
		}
		cur, _, err := c.Nomad.ACLPolicies().Info(p.Name, nil)
		if err != nil && !strings.Contains(err.Error(), "404") {
			return fmt.Errorf("setup: nomad: read %s: %w", object, err)
		}
		if cur != nil && cur.Rules == text {
			report(Change{p.System, object, "unchanged"})
			return nil
		}
		_, err = c.Nomad.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: p.Name, Rules: text, Description: "vigil setup"}, nil)
		return done(report, Change{p.System, object, map[bool]string{true: "created", false: "updated"}[cur == nil]}, err)
	}
	return nil
}

func done(report func(Change), ch Change, err error) error {
	if err != nil {
		return fmt.Errorf("setup: %s: write %s: %w", ch.System, ch.Object, err)
	}
	report(ch)
	return nil
}

func applyConsulRole(r ConsulRole, c Clients, report func(Change)) error {
	object := "role " + r.Name
	if c.Consul == nil {
		report(Change{SystemConsul, object, "skipped"})
		return nil
	}
	cc, err := c.Consul(Policy{Server: r.Server})
	if err != nil {
		return err
	}
	var links []*consul.ACLLink
	for _, p := range r.Policies {
		links = append(links, &consul.ACLLink{Name: p})
	}
	cur, _, err := cc.ACL().RoleReadByName(r.Name, nil)
	if err != nil && !strings.Contains(err.Error(), "404") {
		return fmt.Errorf("setup: consul: read %s: %w", object, err)
	}
	if cur == nil {
		_, _, err = cc.ACL().RoleCreate(&consul.ACLRole{Name: r.Name, Description: "vigil setup", Policies: links}, nil)
		return done(report, Change{SystemConsul, object, "created"}, err)
	}
	var have []string
	for _, l := range cur.Policies {
		have = append(have, l.Name)
	}
	sort.Strings(have)
	if reflect.DeepEqual(have, r.Policies) {
		report(Change{SystemConsul, object, "unchanged"})
		return nil
	}
	cur.Policies = links
	_, _, err = cc.ACL().RoleUpdate(cur, nil)
	return done(report, Change{SystemConsul, object, "updated"}, err)
}

func applyBindingRule(b BindingRule, c Clients, report func(Change)) error {
	object := fmt.Sprintf("binding rule of %s to role %s", b.AuthMethod, b.BindName)
	if c.Consul == nil {
		report(Change{SystemConsul, object, "skipped"})
		return nil
	}
	cc, err := c.Consul(Policy{Server: b.Server})
	if err != nil {
		return err
	}
	if m, _, err := cc.ACL().AuthMethodRead(b.AuthMethod, nil); err == nil && m == nil {
		// Without Nomad's auth method no task gets a Consul token; runs by
		// hand still work. Say so, and write the rest.
		report(Change{SystemConsul, object + ": Consul has no auth method " + b.AuthMethod + "; run `nomad setup consul` first", "skipped"})
		return nil
	}
	rules, _, err := cc.ACL().BindingRuleList(b.AuthMethod, nil)
	if err != nil {
		return fmt.Errorf("setup: consul: list binding rules of %s (run `nomad setup consul` first): %w", b.AuthMethod, err)
	}
	want := &consul.ACLBindingRule{AuthMethod: b.AuthMethod, BindType: consul.BindingRuleBindTypeRole, BindName: b.BindName, Selector: b.Selector, Description: b.Description}
	for _, r := range rules {
		if r.Description != b.Description {
			continue
		}
		if r.BindName == b.BindName && r.Selector == b.Selector && r.BindType == consul.BindingRuleBindTypeRole {
			report(Change{SystemConsul, object, "unchanged"})
			return nil
		}
		want.ID = r.ID
		_, _, err = cc.ACL().BindingRuleUpdate(want, nil)
		return done(report, Change{SystemConsul, object, "updated"}, err)
	}
	_, _, err = cc.ACL().BindingRuleCreate(want, nil)
	return done(report, Change{SystemConsul, object, "created"}, err)
}

func applyVaultObject(ctx context.Context, o VaultObject, c Clients, report func(Change)) error {
	object := o.Path
	if c.Vault == nil {
		report(Change{SystemVault, object, "skipped"})
		return nil
	}
	cur, err := c.Vault.Logical().ReadWithContext(ctx, o.Path)
	if err != nil && !strings.Contains(err.Error(), "404") {
		return fmt.Errorf("setup: vault: read %s: %w", o.Path, err)
	}
	action := "created"
	if cur != nil && cur.Data != nil {
		if sameData(o.Data, cur.Data) {
			report(Change{SystemVault, object, "unchanged"})
			return nil
		}
		action = "updated"
	}
	_, err = c.Vault.Logical().WriteWithContext(ctx, o.Path, o.Data)
	return done(report, Change{SystemVault, object, action}, err)
}

// sameData compares what setup would write with what Vault returns, which
// gives durations back as seconds and lists in its own order.
func sameData(want, have map[string]any) bool {
	for k, w := range want {
		if !sameValue(w, have[k]) {
			return false
		}
	}
	return true
}

func sameValue(w, h any) bool {
	switch w := w.(type) {
	case string:
		if d, err := time.ParseDuration(w); err == nil {
			return fmt.Sprint(int64(d.Seconds())) == fmt.Sprint(h)
		}
		return w == fmt.Sprint(h)
	case []string:
		hs, ok := h.([]any)
		if !ok || len(hs) != len(w) {
			return false
		}
		a := append([]string(nil), w...)
		var b []string
		for _, x := range hs {
			b = append(b, fmt.Sprint(x))
		}
		sort.Strings(a)
		sort.Strings(b)
		return reflect.DeepEqual(a, b)
	case map[string]string:
		hm, ok := h.(map[string]any)
		if !ok || len(hm) != len(w) {
			return false
		}
		for k, v := range w {
			if fmt.Sprint(hm[k]) != v {
				return false
			}
		}
		return true
	case map[string]any:
		hm, ok := h.(map[string]any)
		if !ok || len(hm) != len(w) {
			return false
		}
		for k, v := range w {
			if !sameValue(v, hm[k]) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(w) == fmt.Sprint(h)
}

func applyEtcdUser(ctx context.Context, u EtcdUser, c Clients, report func(Change)) error {
	object := "user " + u.User + " on " + strings.Join(u.Endpoints, ",")
	if c.Etcd == nil {
		report(Change{SystemEtcd, object, "skipped"})
		return nil
	}
	ec, err := c.Etcd(u)
	if err != nil {
		return err
	}
	defer ec.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cur, err := ec.UserGet(ctx, u.User)
	action := "unchanged"
	if err != nil {
		if !strings.Contains(err.Error(), "user name not found") {
			return fmt.Errorf("setup: etcd: read %s: %w", object, err)
		}
		if _, err := ec.UserAddWithOptions(ctx, u.User, "", &clientv3.UserAddOptions{NoPassword: true}); err != nil {
			return fmt.Errorf("setup: etcd: add %s: %w", object, err)
		}
		action = "created"
	}
	for _, role := range u.Roles {
		if cur != nil && contains(cur.Roles, role) {
			continue
		}
		if _, err := ec.UserGrantRole(ctx, u.User, role); err != nil {
			return fmt.Errorf("setup: etcd: grant %s to %s: %w", role, object, err)
		}
		if action == "unchanged" {
			action = "updated"
		}
	}
	report(Change{SystemEtcd, object, action})
	return nil
}
