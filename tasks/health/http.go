package health

import (
	"encoding/json"
	"net/http"
	"time"
)

// Handler serves the status API and, when given, the pages and the
// metrics:
//
//	GET /                  the fleet page (HTML)
//	GET /backups/<name>    one backup's page (HTML)
//	GET /v1/status         every backup; 503 when any is failing or overdue
//	GET /v1/status/<name>  one backup; 503 when its last run failed or it is overdue
//	GET /metrics           Prometheus text
//
// A plain HTTP monitor can page on the 503s.
func Handler(w *Watcher, metrics http.Handler, page *Page) http.Handler {
	mux := http.NewServeMux()
	if page != nil {
		mux.HandleFunc("GET /{$}", page.Fleet)
		mux.HandleFunc("GET /backups/{name}", page.Backup)
	}
	mux.HandleFunc("GET /v1/status", func(rw http.ResponseWriter, r *http.Request) {
		if !ready(rw, w) {
			return
		}
		all := w.Statuses()
		code := http.StatusOK
		for _, s := range all {
			if !s.Healthy {
				code = http.StatusServiceUnavailable
			}
		}
		writeJSON(rw, code, all)
	})
	mux.HandleFunc("GET /v1/status/{name}", func(rw http.ResponseWriter, r *http.Request) {
		if !ready(rw, w) {
			return
		}
		s, ok := w.Get(r.PathValue("name"))
		if !ok {
			writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no backup named " + r.PathValue("name")})
			return
		}
		code := http.StatusOK
		if !s.Healthy {
			code = http.StatusServiceUnavailable
		}
		writeJSON(rw, code, s)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

func ready(rw http.ResponseWriter, w *Watcher) bool {
	if w.Ready() {
		return true
	}
	writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "the run records have not been read yet"})
	return false
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Server is an http.Server with the timeouts a status endpoint needs.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
}
