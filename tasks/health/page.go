package health

import (
	"bytes"
	"compress/gzip"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-backup/vigil/tasks/record"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are parsed once; html/template escapes every value by context.
var pages = template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))

// Page serves the status pages: GET / (every backup) and GET
// /backups/NAME (one backup). Plain HTML with inline SVG and no script or
// external asset, so it works on an air-gapped cluster.
type Page struct {
	Watcher *Watcher
	// Book gives a backup's whole history for its page.
	Book    record.Book
	Config  string
	Version string
	// ConsulUI is the control Consul's address, for links to the checks
	// on Node ("" gives no links).
	ConsulUI, Datacenter, Node string
	// NomadUI is the Nomad address, for links to the jobs ("" gives the
	// command instead).
	NomadUI, Namespace string
	Now                func() time.Time
}

type page struct {
	Title, Config, Version string
	Now                    time.Time
}

func (p *Page) base(title string) page {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	return page{Title: title, Config: p.Config, Version: p.Version, Now: now.UTC().Truncate(time.Second)}
}

// buffers keep the pages' render buffers: the fleet page of a thousand
// backups is a megabyte or two.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (p *Page) render(rw http.ResponseWriter, r *http.Request, name string, code int, data any) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		buffers.Put(buf)
	}()
	if err := pages.ExecuteTemplate(buf, name, data); err != nil {
		http.Error(rw, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
	h.Add("Vary", "Accept-Encoding")
	// A fleet's page is megabytes of repetitive HTML: a tenth of it
	// gzipped, for a phone on a slow link.
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		rw.WriteHeader(code)
		zw, _ := gzip.NewWriterLevel(rw, gzip.BestSpeed)
		_, _ = zw.Write(buf.Bytes())
		_ = zw.Close()
		return
	}
	rw.WriteHeader(code)
	_, _ = rw.Write(buf.Bytes())
}

type condCount struct {
	Cond, Class string
	N           int
}

// Fleet serves GET /: every backup, filtered by ?state= and ?type=.
func (p *Page) Fleet(rw http.ResponseWriter, r *http.Request) {
	if !ready(rw, p.Watcher) {
		return
	}
	statuses := p.Watcher.Statuses()
	cond, typ := r.URL.Query().Get("state"), r.URL.Query().Get("type")
	data := struct {
		page
		Rows       []row
		Total      int
		Counts     []condCount
		Conditions []string
		Types      []string
		Cond, Type string
	}{page: p.base("Backups"), Total: len(statuses), Conditions: Conditions, Cond: cond, Type: typ}
	counts := map[string]int{}
	for _, s := range statuses {
		counts[Condition(s)]++
		if !slices.Contains(data.Types, s.Type) {
			data.Types = append(data.Types, s.Type)
		}
	}
	slices.Sort(data.Types)
	for _, c := range Conditions {
		if counts[c] > 0 {
			data.Counts = append(data.Counts, condCount{Cond: c, Class: condClass(c), N: counts[c]})
		}
	}
	data.Rows = fleetRows(statuses, p.Watcher.spark, cond, typ, data.Now)
	p.render(rw, r, "fleet.html", http.StatusOK, data)
}

type runRow struct {
	Start                                   when
	Status, Duration, Size, Checksum, Error string
	RTO, RPO, BackupID                      string
}

// Backup serves GET /backups/NAME: its runs, drills and trends.
func (p *Page) Backup(rw http.ResponseWriter, r *http.Request) {
	if !ready(rw, p.Watcher) {
		return
	}
	name := r.PathValue("name")
	s, ok := p.Watcher.Get(name)
	if !ok {
		p.render(rw, r, "missing.html", http.StatusNotFound, struct {
			page
			Name string
		}{p.base("No such backup"), name})
		return
	}
	history, err := p.Book.History(r.Context(), name)
	if err != nil {
		http.Error(rw, "the run history could not be read", http.StatusBadGateway)
		return
	}
	b := p.base(name)
	now := b.Now
	c := Condition(s)
	data := struct {
		page
		Name, Cond, CondClass, Output, Type, Schedule, TimeZone string
		Next, VerifiedGood                                      when
		VerifiedID                                              string
		Unreadable                                              int
		Failed                                                  []failedDrill
		RTO, RPO                                                string
		JobID, NomadURL, CheckID, ConsulURL, CheckState         string
		LastError                                               string
		Charts                                                  []chart
		Runs, Drills                                            []runRow
		Copies                                                  []copyCell
	}{page: b, Name: name, Cond: c, CondClass: condClass(c), Output: s.Output, Type: s.Type, Schedule: s.Schedule, TimeZone: s.TimeZone,
		Next: at(s.NextExpected, now), JobID: "vigil-" + name, CheckID: CheckID(name), CheckState: s.State}
	if s.Verify != nil && s.Verify.LastGood != nil {
		data.VerifiedGood = at(*s.Verify.LastGood, now)
		data.VerifiedID = s.Verify.LastGoodID
		data.RTO, data.RPO = short(s.Verify.RTO), short(s.Verify.RPO)
	}
	data.Unreadable = unreadableKept(s)
	data.Copies = copyCells(s, now)
	// The verdicts of the page's history: every ID whose latest drill
	// failed, with why.
	for _, v := range record.ReadVerdicts(history, runs(s.Verify.lastOrNil())).Failed() {
		data.Failed = append(data.Failed, failedDrill{ID: v.BackupID, Reason: v.Reason})
	}
	if p.NomadUI != "" {
		data.NomadURL = p.NomadUI + "/ui/jobs/" + url.PathEscape(data.JobID+"@"+p.nsOrDefault())
	}
	if p.ConsulUI != "" && p.Node != "" {
		data.ConsulURL = p.ConsulUI + "/ui/" + url.PathEscape(p.Datacenter) + "/nodes/" + url.PathEscape(p.Node) + "/health-checks"
	}
	switch {
	case s.Last != nil && s.Last.Error != "":
		data.LastError = s.Last.Error
	case s.Verify != nil && s.Verify.Last != nil && s.Verify.Last.Error != "":
		data.LastError = s.Verify.Last.Error
	}
	points := trend(history)
	backups, drills := pointsOf(points, record.KindBackup), pointsOf(points, record.KindVerify)
	data.Charts = []chart{fullChart(name, sizeSeries, backups), fullChart(name, durationSeries, backups),
		fullChart(name, rtoSeries, drills), fullChart(name, rpoSeries, drills)}
	for i := len(history) - 1; i >= 0; i-- {
		h := history[i]
		rr := runRow{Start: at(h.StartedAt, now), Status: h.Status, Duration: short(h.Duration()), Checksum: h.Checksum(), Error: h.Error}
		if h.Size > 0 {
			rr.Size = record.HumanBytes(h.Size)
		}
		if h.Kind == record.KindVerify {
			if h.Verify != nil {
				rr.RTO, rr.RPO, rr.BackupID = short(h.Verify.RestoreTime), short(h.Verify.BackupAge), h.Verify.BackupID
			}
			data.Drills = append(data.Drills, rr)
			continue
		}
		data.Runs = append(data.Runs, rr)
	}
	p.render(rw, r, "backup.html", http.StatusOK, data)
}

// failedDrill is a backup whose own latest drill failed.
type failedDrill struct{ ID, Reason string }

func (p *Page) nsOrDefault() string {
	if p.Namespace == "" {
		return "default"
	}
	return p.Namespace
}
