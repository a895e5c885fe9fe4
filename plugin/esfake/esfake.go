// Package esfake is a fake Elasticsearch for tests and the demo: an HTTP
// server answering the snapshot, restore, recovery, count and index APIs
// vigil uses, with request checks and response bodies taken from the
// Elasticsearch 8.15 REST API reference (each handler cites its page).
//
// No Elasticsearch can be installed where vigil is tested (it is not in
// Debian, and Maven is out of reach), so this fake stands in for one. It is
// a state machine, not a recording: snapshots go IN_PROGRESS and then end in
// the state a test chose (SUCCESS, PARTIAL, FAILED); a repository can be
// missing; creates can be refused as concurrent; restores create indices
// whose shard recovery moves INIT -> INDEX -> DONE over successive polls.
// Tests that run the same scenarios against a real cluster when ES_URL is
// set live beside vigil's own tests (plugin/elasticsearch_real_test.go).
package esfake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Server is the fake cluster.
type Server struct {
	URL string

	srv *http.Server
	mu  sync.Mutex
	// Knobs, set by tests through the methods below.
	outcome       string
	pollsToFinish int
	rejectCreates int // creates to refuse as concurrent; -1 forever
	username      string
	password      string
	apiKey        string
	forbidden     bool

	clusterUUID string
	repos       map[string]*repo
	indices     map[string]*index
	calls       []string
	listed      []int // snapshots in each get-snapshots answer
	failGets    int   // get-snapshot calls of one named snapshot to answer 500
	holdRestore time.Duration
}

type repo struct {
	Type      string         `json:"type"`
	Settings  map[string]any `json:"settings"`
	snapshots map[string]*snapshot
}

type snapshot struct {
	Name, UUID   string
	Indices      []string
	Docs         map[string]int64 // documents per index at snapshot time
	Shards       map[string]int
	Metadata     map[string]any
	GlobalState  bool
	State        string
	Final        string
	PollsLeft    int
	Start, End   time.Time
	FailedShards int
}

type index struct {
	Docs       int64
	Shards     int
	Restoring  bool
	Recoveries int // polls seen; stages advance with them
}

// Start serves on a free port of 127.0.0.1.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("esfake: listen: %w", err)
	}
	s := &Server{
		URL:           "http://" + l.Addr().String(),
		outcome:       "SUCCESS",
		pollsToFinish: 2,
		clusterUUID:   "fake-cluster-uuid-0001",
		repos:         map[string]*repo{},
		indices:       map[string]*index{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetOutcome makes snapshots created from now on end in state after polls
// get-snapshot calls.
func (s *Server) SetOutcome(state string, polls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcome, s.pollsToFinish = state, polls
}

// RejectCreates refuses the next n snapshot creates with
// concurrent_snapshot_execution_exception; n < 0 refuses them all.
func (s *Server) RejectCreates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectCreates = n
}

// RequireAuth makes every request need HTTP basic auth.
func (s *Server) RequireAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.username, s.password = user, pass
}

// AcceptAPIKey makes the server also accept an API key (the encoded
// form Elasticsearch returns: base64 of "id:api_key"); every request then
// needs it or the user of RequireAuth.
func (s *Server) AcceptAPIKey(encoded string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = encoded
}

// Forbid answers 403 to snapshot operations, as for a user without the
// snapshot privileges.
func (s *Server) Forbid(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = on
}

// AddIndex creates or replaces an index with docs documents.
func (s *Server) AddIndex(name string, docs int64, shards int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indices[name] = &index{Docs: docs, Shards: shards}
}

// AddRepository registers a repository, as an operator would have.
func (s *Server) AddRepository(name, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[name] = &repo{Type: typ, Settings: map[string]any{}, snapshots: map[string]*snapshot{}}
}

// AddSnapshot seeds a finished snapshot that vigil did not create.
func (s *Server) AddSnapshot(repoName, name, state string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	r.snapshots[name] = &snapshot{Name: name, UUID: "uuid-" + name, State: state, Final: state, Start: start, End: start.Add(time.Second),
		Docs: map[string]int64{}, Shards: map[string]int{}}
}

// AddSnapshotWithMetadata seeds a finished snapshot carrying metadata, as
// vigil writes it (vigil_backup, vigil_id).
func (s *Server) AddSnapshotWithMetadata(repoName, name, state string, start time.Time, md map[string]any) {
	s.AddSnapshot(repoName, name, state, start)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[repoName].snapshots[name].Metadata = md
}

// Listed gives, for every get-snapshots answer so far, how many snapshots
// it held.
func (s *Server) Listed() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.listed...)
}

// FailGets makes the next n gets of a named snapshot answer 500, as a
// master that fails over mid-snapshot does.
func (s *Server) FailGets(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failGets = n
}

// HoldRestores delays every restore's answer by d, as a big restore with
// wait_for_completion does.
func (s *Server) HoldRestores(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdRestore = d
}

// Snapshots lists the snapshot names of a repository, sorted.
func (s *Server) Snapshots(repoName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if r := s.repos[repoName]; r != nil {
		for n := range r.snapshots {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Indices lists the index names, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.indices {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Calls lists "METHOD path?query" of every request so far.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// fail writes an Elasticsearch error document:
// {"error":{"root_cause":[...],"type":...,"reason":...},"status":N}
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/common-options.html#common-options-error-options).
func fail(w http.ResponseWriter, status int, typ, reason string) {
	cause := map[string]string{"type": typ, "reason": reason}
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// matchIndices resolves a comma list of names and * patterns.
func (s *Server) matchIndices(expr string) []string {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		re := wildcard(part)
		for name := range s.indices {
			if re.MatchString(name) && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func wildcard(p string) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}
