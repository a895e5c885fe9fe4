package health

import (
	"context"
	"fmt"
	"strings"

	consul "github.com/hashicorp/consul/api"
	"github.com/vigil-backup/vigil/plugin"
)

// Checks live on an external catalog node, not on any agent: batch and
// serve allocations move between nodes, and an agent-local registration
// would leave a stale copy behind on every node a leader ever ran on. One
// node and one service ("vigil") carry one check per backup
// ("vigil:<name>") and one per backup with drills ("vigil-verify:<name>");
// the serve leader writes their states, as consul-esm does for external
// services.
const (
	ServiceID = "vigil"
	// checkType tells the Consul UI these are not agent (serf) checks.
	checkType   = "vigil"
	checkPrefix = "vigil:"
	verifyCheck = "vigil-verify:"
)

// CheckID is the check of a backup.
func CheckID(backup string) string { return checkPrefix + backup }

// VerifyCheckID is the drill check of a backup.
func VerifyCheckID(backup string) string { return verifyCheck + backup }

// Catalog is the part of Consul's catalog API the checks need.
// *consul.Catalog satisfies it.
type Catalog interface {
	Register(reg *consul.CatalogRegistration, q *consul.WriteOptions) (*consul.WriteMeta, error)
	Deregister(dereg *consul.CatalogDeregistration, q *consul.WriteOptions) (*consul.WriteMeta, error)
}

var _ Catalog = (*consul.Catalog)(nil)

// Health reads check states. *consul.Health satisfies it.
type Health interface {
	Node(node string, q *consul.QueryOptions) (consul.HealthChecks, *consul.QueryMeta, error)
}

// Checks are the checks of every status on node.
func Checks(node string, statuses []Status) consul.HealthChecks {
	var checks consul.HealthChecks
	for _, s := range statuses {
		checks = append(checks, &consul.HealthCheck{
			Node: node, CheckID: CheckID(s.Backup), Name: "backup " + s.Backup, Status: s.State, Output: s.Output, Type: checkType,
			ServiceID: ServiceID, Notes: fmt.Sprintf("%s backup, schedule %q", s.Type, s.Schedule),
		})
		if s.Verify != nil {
			checks = append(checks, &consul.HealthCheck{
				Node: node, CheckID: VerifyCheckID(s.Backup), Name: "verify " + s.Backup, Status: s.Verify.State, Output: s.Verify.Output, Type: checkType,
				ServiceID: ServiceID, Notes: "restore drills: last verified-good backup younger than " + s.Verify.MaxAge.String(),
			})
		}
	}
	return checks
}

// Written is what the leader last wrote of each check: only checks whose
// state or output moved are written again, so a fleet's steady state
// writes nothing.
type Written map[string]string

// Changed returns the checks that differ from what w holds, and records
// them as written.
func (w Written) Changed(checks consul.HealthChecks) consul.HealthChecks {
	var out consul.HealthChecks
	for _, c := range checks {
		if v := c.Status + "\x00" + c.Output + "\x00" + c.Notes; w[c.CheckID] != v {
			w[c.CheckID] = v
			out = append(out, c)
		}
	}
	return out
}

// SyncChecks writes checks on node, with the vigil service that carries
// them; checks not named are left as they are. address and port are
// where the leader serves HTTP.
func SyncChecks(ctx context.Context, cat Catalog, node, address string, port int, checks consul.HealthChecks) error {
	w := (&consul.WriteOptions{}).WithContext(ctx)
	_, err := cat.Register(&consul.CatalogRegistration{
		Node: node, Address: address, SkipNodeUpdate: false,
		NodeMeta: map[string]string{"external-node": "true", "external-probe": "false"},
		Service:  &consul.AgentService{ID: ServiceID, Service: ServiceID, Port: port, Tags: []string{"backups"}},
		Checks:   checks,
	}, w)
	if err != nil {
		return fmt.Errorf("health: register checks on %s: %w", node, plugin.ConsulDenied(err, ""))
	}
	return nil
}

// RemoveStale deregisters vigil's checks on node that no status names.
func RemoveStale(ctx context.Context, cat Catalog, h Health, node string, statuses []Status) error {
	want := map[string]bool{}
	for _, s := range statuses {
		want[CheckID(s.Backup)] = true
		if s.Verify != nil {
			want[VerifyCheckID(s.Backup)] = true
		}
	}
	checks, _, err := h.Node(node, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("health: list checks of %s: %w", node, err)
	}
	for _, c := range checks {
		if (strings.HasPrefix(c.CheckID, checkPrefix) || strings.HasPrefix(c.CheckID, verifyCheck)) && !want[c.CheckID] {
			if _, err := cat.Deregister(&consul.CatalogDeregistration{Node: node, CheckID: c.CheckID}, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
				return fmt.Errorf("health: remove check %s: %w", c.CheckID, err)
			}
		}
	}
	return nil
}
