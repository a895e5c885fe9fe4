package esfake

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// restore: POST _snapshot/<repo>/<snapshot>/_restore?wait_for_completion=false
// with {"indices", "rename_pattern", "rename_replacement",
// "include_global_state"} -> {"accepted": true}. An open index with a
// restored name already existing fails with snapshot_restore_exception
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/restore-snapshot-api.html).
func (s *Server) restore(w http.ResponseWriter, r *http.Request, repoName, name string) {
	rp := s.repo(w, repoName)
	if rp == nil {
		return
	}
	sn, ok := rp.snapshots[name]
	if !ok {
		fail(w, 404, "snapshot_missing_exception", "["+repoName+":"+name+"] is missing")
		return
	}
	if sn.State != "SUCCESS" && sn.State != "PARTIAL" {
		fail(w, 500, "snapshot_restore_exception", "["+repoName+":"+name+"] cannot restore snapshot in state "+sn.State)
		return
	}
	var body struct {
		Indices           string `json:"indices"`
		RenamePattern     string `json:"rename_pattern"`
		RenameReplacement string `json:"rename_replacement"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, 400, "x_content_parse_exception", err.Error())
		return
	}
	var re *regexp.Regexp
	if body.RenamePattern != "" {
		var err error
		if re, err = regexp.Compile(body.RenamePattern); err != nil {
			fail(w, 400, "illegal_argument_exception", "invalid rename_pattern: "+err.Error())
			return
		}
	}
	var targets, sources []string
	for _, ix := range sn.Indices {
		if body.Indices != "" && !matchesAny(ix, body.Indices) {
			continue
		}
		dst := ix
		if re != nil {
			var err error
			if dst, err = javaReplaceAll(re, ix, body.RenameReplacement); err != nil {
				fail(w, 400, "illegal_argument_exception", "invalid rename_replacement ["+body.RenameReplacement+"]: "+err.Error())
				return
			}
		}
		if _, exists := s.indices[dst]; exists {
			fail(w, 500, "snapshot_restore_exception", "["+repoName+":"+name+"] cannot restore index ["+dst+"] because an open index with same name already exists in the cluster")
			return
		}
		targets, sources = append(targets, dst), append(sources, ix)
	}
	shards := 0
	for i, dst := range targets {
		src := sources[i]
		s.indices[dst] = &index{Docs: sn.Docs[src], Shards: sn.Shards[src], Restoring: true}
		shards += sn.Shards[src]
	}
	if r.URL.Query().Get("wait_for_completion") == "true" {
		// The primaries are recovered when the answer comes; replicas (and
		// the fake's recovery stages) may still be on their way.
		writeJSON(w, 200, map[string]any{"snapshot": map[string]any{
			"snapshot": name, "indices": orEmpty(targets),
			"shards": map[string]int{"total": shards, "failed": 0, "successful": shards},
		}})
		return
	}
	writeJSON(w, 200, map[string]any{"accepted": true})
}

func matchesAny(ix, expr string) bool {
	for _, p := range strings.Split(expr, ",") {
		if wildcard(strings.TrimSpace(p)).MatchString(ix) {
			return true
		}
	}
	return false
}

// recovery: GET /<index>/_recovery -> {"<index>": {"shards": [{"id",
// "type": "SNAPSHOT", "stage", ...}]}}. Restored shards move INIT, INDEX,
// DONE on successive calls
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-recovery.html).
func (s *Server) recovery(w http.ResponseWriter, expr string) {
	names := s.matchIndices(expr)
	if len(names) == 0 {
		fail(w, 404, "index_not_found_exception", "no such index ["+expr+"]")
		return
	}
	out := map[string]any{}
	for _, n := range names {
		ix := s.indices[n]
		stage := "DONE"
		if ix.Restoring {
			stage = []string{"INIT", "INDEX", "DONE"}[min(ix.Recoveries, 2)]
			ix.Recoveries++
		}
		var shards []any
		for i := 0; i < ix.Shards; i++ {
			shards = append(shards, map[string]any{
				"id": i, "type": "SNAPSHOT", "stage": stage, "primary": true,
				"index": map[string]any{"size": map[string]any{"percent": map[string]string{"INIT": "0.0%", "INDEX": "50.0%", "DONE": "100.0%"}[stage]}},
			})
		}
		out[n] = map[string]any{"shards": shards}
	}
	writeJSON(w, 200, out)
}

// count: GET|POST /<index>/_count -> {"count": N, "_shards": {...}}
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-count.html).
func (s *Server) count(w http.ResponseWriter, expr string) {
	names := s.matchIndices(expr)
	if len(names) == 0 && !strings.Contains(expr, "*") {
		fail(w, 404, "index_not_found_exception", "no such index ["+expr+"]")
		return
	}
	var n int64
	shards := 0
	for _, name := range names {
		n += s.indices[name].Docs
		shards += s.indices[name].Shards
	}
	writeJSON(w, 200, map[string]any{"count": n, "_shards": map[string]int{"total": shards, "successful": shards, "skipped": 0, "failed": 0}})
}

// deleteIndex: DELETE /<index>[,<index>] -> {"acknowledged": true}.
// Wildcards are refused (action.destructive_requires_name defaults to true
// in 8.x); missing indices fail unless ignore_unavailable
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-delete-index.html).
func (s *Server) deleteIndex(w http.ResponseWriter, r *http.Request, expr string) {
	ignore := r.URL.Query().Get("ignore_unavailable") == "true"
	for _, n := range strings.Split(expr, ",") {
		if strings.Contains(n, "*") || n == "_all" {
			fail(w, 400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed")
			return
		}
		if _, ok := s.indices[n]; !ok && !ignore {
			fail(w, 404, "index_not_found_exception", "no such index ["+n+"]")
			return
		}
	}
	for _, n := range strings.Split(expr, ",") {
		delete(s.indices, n)
	}
	writeJSON(w, 200, map[string]any{"acknowledged": true})
}

// catIndices: GET /_cat/indices/<pattern>?format=json -> [{"index", ...}]
// (https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cat-indices.html).
func (s *Server) catIndices(w http.ResponseWriter, parts []string) {
	expr := "*"
	if len(parts) > 0 && parts[0] != "" {
		expr = parts[0]
	}
	out := []map[string]any{}
	for _, n := range s.matchIndices(expr) {
		ix := s.indices[n]
		out = append(out, map[string]any{"health": "green", "status": "open", "index": n, "pri": ix.Shards, "rep": 0, "docs.count": ix.Docs})
	}
	writeJSON(w, 200, out)
}
