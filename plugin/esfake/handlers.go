package esfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP routes the REST paths vigil uses.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer carries the product header the official clients check
	// (https://www.elastic.co/guide/en/elasticsearch/client/go-api/current/connecting.html).
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.RequestURI())
	if s.username != "" || s.apiKey != "" {
		// Elasticsearch takes either: basic auth, or "ApiKey <base64(id:key)>".
		u, p, basic := r.BasicAuth()
		userOK := basic && s.username != "" && u == s.username && p == s.password
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		keyOK := s.apiKey != "" && strings.EqualFold(scheme, "ApiKey") && cred == s.apiKey
		if !userOK && !keyOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
			fail(w, http.StatusUnauthorized, "security_exception", "missing authentication credentials for REST request ["+r.URL.Path+"]")
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		s.info(w)
	case parts[0] == "_snapshot":
		if s.forbidden {
			fail(w, http.StatusForbidden, "security_exception", "action [cluster:admin/snapshot/*] is unauthorized for user [vigil]")
			return
		}
		s.snapshotAPI(w, r, parts[1:])
	case parts[0] == "_cat" && len(parts) >= 2 && parts[1] == "indices":
		s.catIndices(w, parts[2:])
	case len(parts) == 2 && parts[1] == "_recovery" && r.Method == http.MethodGet:
		s.recovery(w, parts[0])
	case len(parts) == 2 && parts[1] == "_count":
		s.count(w, parts[0])
	case len(parts) == 1 && r.Method == http.MethodDelete:
		s.deleteIndex(w, r, parts[0])
	default:
		fail(w, http.StatusBadRequest, "illegal_argument_exception", "the fake does not implement "+r.Method+" "+r.URL.Path)
	}
}

// info answers GET / with the root API's body
// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-info).
func (s *Server) info(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{
		"name": "fake-node-0", "cluster_name": "fake-cluster", "cluster_uuid": s.clusterUUID,
		"version": map[string]any{"number": "8.15.0", "build_flavor": "default", "lucene_version": "9.11.1",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
		"tagline": "You Know, for Search",
	})
}

func (s *Server) snapshotAPI(w http.ResponseWriter, r *http.Request, parts []string) {
	if len(parts) == 0 || parts[0] == "" {
		fail(w, 400, "illegal_argument_exception", "repository name missing")
		return
	}
	repoName := parts[0]
	switch {
	case len(parts) == 1 && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		s.putRepository(w, r, repoName)
	case len(parts) == 1 && r.Method == http.MethodGet:
		s.getRepository(w, repoName)
	case len(parts) == 2 && parts[1] == "_verify" && r.Method == http.MethodPost:
		s.verifyRepository(w, repoName)
	case len(parts) == 2 && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		s.createSnapshot(w, r, repoName, parts[1])
	case len(parts) == 2 && r.Method == http.MethodGet:
		if s.failGets > 0 && !strings.ContainsAny(parts[1], "*,") {
			s.failGets--
			fail(w, 500, "master_not_discovered_exception", "no master node is elected")
			return
		}
		s.getSnapshots(w, r, repoName, parts[1])
	case len(parts) == 2 && r.Method == http.MethodDelete:
		s.deleteSnapshot(w, repoName, parts[1])
	case len(parts) == 3 && parts[2] == "_restore" && r.Method == http.MethodPost:
		if hold := s.holdRestore; hold > 0 {
			// Wait without the lock, as a cluster working on a restore
			// still answers other calls.
			s.mu.Unlock()
			select {
			case <-time.After(hold):
			case <-r.Context().Done():
			}
			s.mu.Lock()
		}
		s.restore(w, r, repoName, parts[1])
	default:
		fail(w, 400, "illegal_argument_exception", "the fake does not implement "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) repo(w http.ResponseWriter, name string) *repo {
	rp := s.repos[name]
	if rp == nil {
		fail(w, 404, "repository_missing_exception", "["+name+"] missing")
	}
	return rp
}

// putRepository: PUT _snapshot/<repo> {"type", "settings"} -> {"acknowledged": true}
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/put-snapshot-repo-api.html).
func (s *Server) putRepository(w http.ResponseWriter, r *http.Request, name string) {
	var body struct {
		Type     string         `json:"type"`
		Settings map[string]any `json:"settings"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Type == "" {
		fail(w, 400, "action_request_validation_exception", "Validation Failed: 1: type is missing;")
		return
	}
	if body.Type != "fs" && body.Type != "s3" && body.Type != "url" {
		fail(w, 500, "repository_exception", "["+name+"] repository type ["+body.Type+"] does not exist")
		return
	}
	if rp := s.repos[name]; rp != nil {
		rp.Type, rp.Settings = body.Type, body.Settings
	} else {
		s.repos[name] = &repo{Type: body.Type, Settings: body.Settings, snapshots: map[string]*snapshot{}}
	}
	writeJSON(w, 200, map[string]any{"acknowledged": true})
}

// getRepository: GET _snapshot/<repo> -> {"<repo>": {"type", "settings"}}
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-repo-api.html).
func (s *Server) getRepository(w http.ResponseWriter, name string) {
	rp := s.repo(w, name)
	if rp == nil {
		return
	}
	writeJSON(w, 200, map[string]any{name: rp})
}

// verifyRepository: POST _snapshot/<repo>/_verify -> {"nodes": {...}}
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/verify-snapshot-repo-api.html).
func (s *Server) verifyRepository(w http.ResponseWriter, name string) {
	if s.repo(w, name) == nil {
		return
	}
	writeJSON(w, 200, map[string]any{"nodes": map[string]any{"fake-node-id": map[string]string{"name": "fake-node-0"}}})
}

var badSnapshotName = regexp.MustCompile(`[A-Z\\/*?"<>| ,#]|^_`)

// createSnapshot: PUT _snapshot/<repo>/<snapshot>?wait_for_completion=false
// with {"indices", "include_global_state", "partial", "metadata"} ->
// {"accepted": true}; a running snapshot makes it fail with
// concurrent_snapshot_execution_exception (HTTP 503)
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/create-snapshot-api.html).
func (s *Server) createSnapshot(w http.ResponseWriter, r *http.Request, repoName, name string) {
	rp := s.repo(w, repoName)
	if rp == nil {
		return
	}
	if badSnapshotName.MatchString(name) {
		fail(w, 400, "invalid_snapshot_name_exception", "["+repoName+":"+name+"] Invalid snapshot name ["+name+"], must be lowercase")
		return
	}
	if _, exists := rp.snapshots[name]; exists {
		fail(w, 400, "invalid_snapshot_name_exception", "["+repoName+":"+name+"] Invalid snapshot name ["+name+"], snapshot with the same name already exists")
		return
	}
	if s.rejectCreates != 0 {
		if s.rejectCreates > 0 {
			s.rejectCreates--
		}
		fail(w, 503, "concurrent_snapshot_execution_exception", "["+repoName+":"+name+"] cannot snapshot while a snapshot deletion is in-progress in [fake]")
		return
	}
	var body struct {
		Indices     any            `json:"indices"`
		GlobalState *bool          `json:"include_global_state"`
		Partial     bool           `json:"partial"`
		Metadata    map[string]any `json:"metadata"`
	}
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			fail(w, 400, "x_content_parse_exception", err.Error())
			return
		}
	}
	expr := "*"
	switch v := body.Indices.(type) {
	case string:
		if v != "" {
			expr = v
		}
	case []any:
		var names []string
		for _, x := range v {
			names = append(names, fmt.Sprint(x))
		}
		expr = strings.Join(names, ",")
	}
	snap := &snapshot{Name: name, UUID: fmt.Sprintf("uuid-%d", time.Now().UnixNano()), Metadata: body.Metadata,
		GlobalState: body.GlobalState == nil || *body.GlobalState, State: "IN_PROGRESS", Final: s.outcome,
		PollsLeft: s.pollsToFinish, Start: time.Now().UTC(), Docs: map[string]int64{}, Shards: map[string]int{}}
	for _, ix := range s.matchIndices(expr) {
		if strings.HasPrefix(ix, ".") {
			continue
		}
		snap.Indices = append(snap.Indices, ix)
		snap.Docs[ix], snap.Shards[ix] = s.indices[ix].Docs, s.indices[ix].Shards
	}
	rp.snapshots[name] = snap
	if r.URL.Query().Get("wait_for_completion") == "true" {
		snap.finish()
		writeJSON(w, 200, map[string]any{"snapshot": snap.doc(repoName)})
		return
	}
	writeJSON(w, 200, map[string]any{"accepted": true})
}

func (sn *snapshot) finish() {
	sn.State, sn.End = sn.Final, time.Now().UTC()
	total := sn.totalShards()
	switch sn.Final {
	case "PARTIAL":
		sn.FailedShards = 1
	case "FAILED":
		sn.FailedShards = total
	}
}

func (sn *snapshot) totalShards() int {
	n := 0
	for _, c := range sn.Shards {
		n += c
	}
	return n
}

// doc renders a snapshot as the get snapshot API does
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html#get-snapshot-api-response-body).
func (sn *snapshot) doc(repoName string) map[string]any {
	total := sn.totalShards()
	failures := []any{}
	for i, ix := range sn.Indices {
		if sn.State == "PARTIAL" && i > 0 || sn.State != "PARTIAL" && sn.State != "FAILED" {
			continue
		}
		for shard := 0; shard < sn.Shards[ix] && (sn.State == "FAILED" || shard == 0); shard++ {
			failures = append(failures, map[string]any{
				"index": ix, "index_uuid": "uuid-" + ix, "shard_id": shard, "node_id": "fake-node-id", "status": "INTERNAL_SERVER_ERROR",
				"reason": "IndexShardSnapshotFailedException[Failed to snapshot shard: disk full]",
			})
		}
	}
	d := map[string]any{
		"snapshot": sn.Name, "uuid": sn.UUID, "repository": repoName, "version_id": 8150099, "version": "8.15.0",
		"indices": orEmpty(sn.Indices), "data_streams": []string{}, "feature_states": []any{},
		"include_global_state": sn.GlobalState, "state": sn.State,
		"start_time": sn.Start.Format(time.RFC3339Nano), "start_time_in_millis": sn.Start.UnixMilli(),
		"failures": failures,
		"shards":   map[string]int{"total": total, "failed": sn.FailedShards, "successful": total - sn.FailedShards},
	}
	if sn.Metadata != nil {
		d["metadata"] = sn.Metadata
	}
	if !sn.End.IsZero() {
		d["end_time"], d["end_time_in_millis"] = sn.End.Format(time.RFC3339Nano), sn.End.UnixMilli()
		d["duration_in_millis"] = sn.End.Sub(sn.Start).Milliseconds()
	}
	return d
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getSnapshots: GET _snapshot/<repo>/<names or patterns> ->
// {"snapshots": [...], "total", "remaining", "next"}; a missing named
// snapshot is snapshot_missing_exception (404) unless ignore_unavailable.
// sort=start_time|name orders the matches, size pages them and answers
// with "next", an opaque token (base64 of "<sort value>,<repo>,<name>")
// that after= resumes from; index_names=false leaves the indices out
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html).
// Each get of an IN_PROGRESS snapshot moves it one poll closer to its end.
func (s *Server) getSnapshots(w http.ResponseWriter, r *http.Request, repoName, expr string) {
	rp := s.repo(w, repoName)
	if rp == nil {
		return
	}
	q := r.URL.Query()
	ignore := q.Get("ignore_unavailable") == "true"
	var matched []*snapshot
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		if part == "_all" {
			part = "*"
		}
		re := wildcard(part)
		found := false
		for n, sn := range rp.snapshots {
			if re.MatchString(n) && !seen[n] {
				found, seen[n] = true, true
				matched = append(matched, sn)
			}
		}
		if !found && !strings.Contains(part, "*") && !ignore {
			fail(w, 404, "snapshot_missing_exception", "["+repoName+":"+part+"] is missing")
			return
		}
	}
	key := func(sn *snapshot) string { return sn.Name }
	if q.Get("sort") == "start_time" {
		key = func(sn *snapshot) string { return fmt.Sprintf("%020d", sn.Start.UnixMilli()) }
	}
	sort.Slice(matched, func(i, j int) bool {
		ki, kj := key(matched[i]), key(matched[j])
		return ki < kj || ki == kj && matched[i].Name < matched[j].Name
	})
	if after := q.Get("after"); after != "" {
		raw, err := base64.URLEncoding.DecodeString(after)
		f := strings.SplitN(string(raw), ",", 3)
		if err != nil || len(f) != 3 {
			fail(w, 400, "illegal_argument_exception", "invalid after parameter ["+after+"]")
			return
		}
		var rest []*snapshot
		for _, sn := range matched {
			if k := key(sn); k > f[0] || k == f[0] && sn.Name > f[2] {
				rest = append(rest, sn)
			}
		}
		matched = rest
	}
	total := len(matched)
	next := ""
	if size, err := strconv.Atoi(q.Get("size")); err == nil && size > 0 && size < len(matched) {
		matched = matched[:size]
		last := matched[size-1]
		next = base64.URLEncoding.EncodeToString([]byte(key(last) + "," + repoName + "," + last.Name))
	}
	list := []map[string]any{}
	for _, sn := range matched {
		if sn.State == "IN_PROGRESS" {
			if sn.PollsLeft <= 0 {
				sn.finish()
			} else {
				sn.PollsLeft--
			}
		}
		d := sn.doc(repoName)
		if q.Get("index_names") == "false" {
			delete(d, "indices")
		}
		list = append(list, d)
	}
	s.listed = append(s.listed, len(list))
	out := map[string]any{"snapshots": list, "total": total, "remaining": total - len(list)}
	if next != "" {
		out["next"] = next
	}
	writeJSON(w, 200, out)
}

// deleteSnapshot: DELETE _snapshot/<repo>/<snapshot> -> {"acknowledged": true};
// deleting a running snapshot aborts it
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/delete-snapshot-api.html).
func (s *Server) deleteSnapshot(w http.ResponseWriter, repoName, expr string) {
	rp := s.repo(w, repoName)
	if rp == nil {
		return
	}
	for _, n := range strings.Split(expr, ",") {
		if _, ok := rp.snapshots[n]; !ok {
			fail(w, 404, "snapshot_missing_exception", "["+repoName+":"+n+"] is missing")
			return
		}
	}
	for _, n := range strings.Split(expr, ",") {
		delete(rp.snapshots, n)
	}
	writeJSON(w, 200, map[string]any{"acknowledged": true})
}
