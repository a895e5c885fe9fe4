package jobs

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/nomad/api"
)

// Cluster is the part of Nomad's jobs API that plan and apply use.
// *api.Jobs satisfies it. Errors are returned as the API gives them.
type Cluster interface {
	Plan(job *api.Job, diff bool, q *api.WriteOptions) (*api.JobPlanResponse, *api.WriteMeta, error)
	RegisterOpts(job *api.Job, opts *api.RegisterOptions, q *api.WriteOptions) (*api.JobRegisterResponse, *api.WriteMeta, error)
	ListOptions(opts *api.JobListOptions, q *api.QueryOptions) ([]*api.JobListStub, *api.QueryMeta, error)
	Deregister(jobID string, purge bool, q *api.WriteOptions) (string, *api.WriteMeta, error)
}

var _ Cluster = (*api.Jobs)(nil)

// planConcurrency is how many plan requests MakePlan keeps in flight.
const planConcurrency = 8

// JobPlan is Nomad's answer for one compiled job.
type JobPlan struct {
	Job         *api.Job
	Diff        *api.JobDiff
	ModifyIndex uint64
	Warnings    string
}

// Changed reports whether registering the job would change the cluster.
func (p JobPlan) Changed() bool { return p.Diff == nil || p.Diff.Type != "None" }

// Orphan is a job vigil manages in the cluster that no spec declares any more.
type Orphan struct {
	ID        string
	Namespace string
}

// Plan is what `vigil plan` shows and `vigil apply` carries out.
type Plan struct {
	// ConfigID is the configuration planned: only its jobs are orphans.
	ConfigID string
	Jobs     []JobPlan
	Orphans  []Orphan
	// Unsearched are namespaces no job uses (the client's default) where
	// the token may not list jobs: orphans left there are not seen.
	Unsearched []string
}

// Changed reports whether anything would change, orphans included.
func (p *Plan) Changed() bool {
	if len(p.Orphans) > 0 {
		return true
	}
	for _, j := range p.Jobs {
		if j.Changed() {
			return true
		}
	}
	return false
}

// MakePlan asks Nomad to plan every job and lists orphans in the namespaces
// the jobs use (and the client's default namespace): jobs vigil manages for
// the configuration configID that none of compiled is. Jobs of other
// configurations are never orphans here.
func MakePlan(c Cluster, compiled []*api.Job, configID string) (*Plan, error) {
	p := &Plan{ConfigID: configID, Jobs: make([]JobPlan, len(compiled))}
	declared := map[string]bool{}
	// The namespaces the jobs use must be searched; the client's default
	// ("") is searched when the token may, for jobs a spec moved out of it.
	namespaces := map[string]bool{"": false}
	for _, job := range compiled {
		declared[*job.ID] = true
		namespaces[deref(job.Namespace)] = true
	}
	// Plans are independent reads: a few in flight keep 1,000 backups
	// quick without loading the servers.
	errs := make([]error, len(compiled))
	var wg sync.WaitGroup
	sem := make(chan struct{}, planConcurrency)
	for i, job := range compiled {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, _, err := c.Plan(job, true, writeOpts(job))
			if err != nil {
				errs[i] = fmt.Errorf("jobs: plan %s: %w", *job.ID, nomadDenied(err, "submit-job", job.Namespace))
				return
			}
			p.Jobs[i] = JobPlan{Job: job, Diff: resp.Diff, ModifyIndex: resp.JobModifyIndex, Warnings: resp.Warnings}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first is enough: the rest usually repeat it
		}
	}
	for ns, used := range namespaces {
		stubs, _, err := c.ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}},
			&api.QueryOptions{Namespace: ns, Prefix: BackupPrefix})
		if err != nil && !used && isForbidden(err) {
			p.Unsearched = append(p.Unsearched, displayNamespace(ns))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jobs: list managed jobs: %w", nomadDenied(err, "list-jobs", &ns))
		}
		for _, s := range stubs {
			if s.Meta[MetaManaged] != "true" || s.Meta[MetaConfig] != configID || s.Stop || s.ParentID != "" {
				continue
			}
			if declared[s.ID] {
				continue
			}
			p.Orphans = append(p.Orphans, Orphan{ID: s.ID, Namespace: s.Namespace})
		}
	}
	sort.Slice(p.Orphans, func(i, j int) bool { return p.Orphans[i].ID < p.Orphans[j].ID })
	p.Orphans = dedupe(p.Orphans)
	return p, nil
}

// Apply registers changed jobs, each guarded by the modify index its plan
// saw, so a job changed by someone else since the plan is not overwritten.
// Orphans are stopped only when prune is set.
func Apply(c Cluster, p *Plan, prune bool, report func(string)) error {
	for _, jp := range p.Jobs {
		if !jp.Changed() {
			continue
		}
		opts := &api.RegisterOptions{EnforceIndex: true, ModifyIndex: jp.ModifyIndex}
		if _, _, err := c.RegisterOpts(jp.Job, opts, writeOpts(jp.Job)); err != nil {
			return fmt.Errorf("jobs: register %s: %w", *jp.Job.ID, nomadDenied(err, "submit-job", jp.Job.Namespace))
		}
		report(fmt.Sprintf("registered %s", *jp.Job.ID))
	}
	if !prune {
		return nil
	}
	for _, o := range p.Orphans {
		if _, _, err := c.Deregister(o.ID, false, &api.WriteOptions{Namespace: o.Namespace}); err != nil {
			return fmt.Errorf("jobs: stop %s: %w", o.ID, err)
		}
		report(fmt.Sprintf("stopped %s (no spec declares it)", o.ID))
	}
	return nil
}

// nomadDenied names the capability a call Nomad refused (403) needed.
func nomadDenied(err error, capability string, namespace *string) error {
	if err == nil || !isForbidden(err) {
		return err
	}
	return fmt.Errorf("nomad: token lacks %s in namespace %q (403; vigil setup prints the operator's policy): %w", capability, displayNamespace(deref(namespace)), err)
}

func isForbidden(err error) bool { return strings.Contains(err.Error(), "403") }

// displayNamespace names "" as Nomad does.
func displayNamespace(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func writeOpts(job *api.Job) *api.WriteOptions {
	w := &api.WriteOptions{}
	if job.Region != nil {
		w.Region = *job.Region
	}
	if job.Namespace != nil {
		w.Namespace = *job.Namespace
	}
	return w
}

func dedupe(in []Orphan) []Orphan {
	var out []Orphan
	seen := map[string]bool{}
	for _, o := range in {
		k := o.Namespace + "/" + o.ID
		if !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}
