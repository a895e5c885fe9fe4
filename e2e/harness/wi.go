package harness

import (
	"context"
	"fmt"

	consul "github.com/hashicorp/consul/api"
)

// ConsulAuthMethod is the auth method `nomad setup consul` makes, which
// Nomad clients log tasks in with; vigil setup binds its role to it.
const ConsulAuthMethod = "nomad-workloads"

// ConfigureConsulJWT does the part of `nomad setup consul` vigil needs: a
// JWT auth method on Consul trusting Nomad's workload identities (with
// Nomad's keys given as they are: Consul cannot present the client
// certificate Nomad asks for). The binding rules are vigil setup's.
func ConfigureConsulJWT(ctx context.Context, c *Consul, n *Nomad) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	conf := map[string]any{
		"JWTSupportedAlgs": []string{"RS256", "ES256"},
		"BoundAudiences":   []string{"consul.io"},
		"ClaimMappings": map[string]string{
			"nomad_namespace": "nomad_namespace", "nomad_job_id": "nomad_job_id",
			"nomad_task": "nomad_task", "nomad_service": "nomad_service",
		},
	}
	if n.Sec == nil {
		conf["JWKSURL"] = n.URL() + "/.well-known/jwks.json"
	} else {
		keys, err := n.PublicKeys(ctx)
		if err != nil {
			return err
		}
		conf["JWTValidationPubKeys"] = keys
	}
	_, _, err = cl.ACL().AuthMethodCreate(&consul.ACLAuthMethod{
		Name: ConsulAuthMethod, Type: "jwt", DisplayName: ConsulAuthMethod,
		Description: "Login method for Nomad workloads using workload identities",
		MaxTokenTTL: 0, TokenLocality: "local", Config: conf,
	}, (&consul.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("harness: consul auth method: %w", err)
	}
	return nil
}
