package tasks

import (
	"fmt"
	"net/http"
	"os"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/hashicorp/go-metrics/datadog"
	"github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vigil-backup/vigil/hcl/config"
	"github.com/vigil-backup/vigil/tasks/health"
	"github.com/vigil-backup/vigil/tasks/record"
)

// Telemetry sends vigil's metrics where the spec's telemetry block says,
// shaped like Nomad's: statsd and dogstatsd for batch runs (pushed as a run
// ends), Prometheus for `vigil serve`.
type Telemetry struct {
	m     *metrics.Metrics
	flush []func()
	prom  bool
}

// NewTelemetry configures the sinks. withPrometheus adds the Prometheus
// sink served by Handler.
func NewTelemetry(t config.Telemetry, withPrometheus bool) (*Telemetry, error) {
	tel := &Telemetry{}
	var sinks metrics.FanoutSink
	if t.StatsdAddress != "" {
		s, err := metrics.NewStatsdSink(t.StatsdAddress)
		if err != nil {
			return nil, fmt.Errorf("telemetry: statsd %s: %w", t.StatsdAddress, err)
		}
		sinks = append(sinks, s)
		// The statsd sink sends what it has every 100ms and drops its
		// buffer on Shutdown: wait for a send first.
		tel.flush = append(tel.flush, func() { time.Sleep(300 * time.Millisecond); s.Shutdown() })
	}
	if t.DogStatsdAddress != "" {
		host, _ := os.Hostname()
		s, err := datadog.NewDogStatsdSink(t.DogStatsdAddress, host)
		if err != nil {
			return nil, fmt.Errorf("telemetry: dogstatsd %s: %w", t.DogStatsdAddress, err)
		}
		s.SetTags(t.DogStatsdTags)
		sinks = append(sinks, s)
		tel.flush = append(tel.flush, s.Shutdown)
	}
	if withPrometheus {
		s, err := prometheus.NewPrometheusSinkFrom(prometheus.PrometheusOpts{Expiration: t.PrometheusRetentionTime})
		if err != nil {
			return nil, fmt.Errorf("telemetry: prometheus: %w", err)
		}
		sinks = append(sinks, s)
		tel.prom = true
	}
	if len(sinks) == 0 {
		return tel, nil
	}
	conf := metrics.DefaultConfig("vigil")
	conf.EnableHostname, conf.EnableRuntimeMetrics, conf.EnableServiceLabel = false, false, false
	conf.EnableHostnameLabel = false
	m, err := metrics.New(conf, sinks)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	tel.m = m
	return tel, nil
}

// Close pushes out what the sinks hold.
func (t *Telemetry) Close() {
	for _, f := range t.flush {
		f()
	}
}

// Handler serves Prometheus text, or nil without the Prometheus sink.
func (t *Telemetry) Handler() http.Handler {
	if !t.prom {
		return nil
	}
	return promhttp.Handler()
}

// RunFinished records one finished run: a counter by result, and its
// duration, bytes and, for good backups, the time of success; for drills
// the restore time (RTO) and the verified backup's age (RPO).
func (t *Telemetry) RunFinished(r *record.Run) {
	if t.m == nil || r == nil {
		return
	}
	labels := []metrics.Label{{Name: "backup", Value: r.Backup}}
	t.m.IncrCounterWithLabels([]string{r.Kind, "runs"}, 1, append(labels, metrics.Label{Name: "result", Value: r.Status}))
	if r.Status == record.Skipped {
		return
	}
	t.m.SetGaugeWithLabels([]string{r.Kind, "duration_seconds"}, float32(r.Duration().Seconds()), labels)
	if r.Kind == record.KindBackup {
		t.m.SetGaugeWithLabels([]string{"backup", "bytes"}, float32(r.Size), labels)
		if r.BackupWritten() && r.FinishedAt != nil {
			t.m.SetGaugeWithLabels([]string{"backup", "last_success_timestamp"}, float32(r.FinishedAt.Unix()), labels)
		}
	}
	if r.Kind == record.KindVerify && r.Verify != nil {
		t.m.SetGaugeWithLabels([]string{"verify", "rto_seconds"}, float32(r.Verify.RestoreTime.Seconds()), labels)
		t.m.SetGaugeWithLabels([]string{"verify", "rpo_seconds"}, float32(r.Verify.BackupAge.Seconds()), labels)
		// verify.last_good_timestamp is not set here: a drill that passes
		// on an older backup does not make it the newest verified-good one.
		// Statuses sets it from the verdicts.
	}
}

// Statuses publishes `vigil serve`'s view of every backup.
func (t *Telemetry) Statuses(all []health.Status) {
	if t.m == nil {
		return
	}
	for _, s := range all {
		labels := []metrics.Label{{Name: "backup", Value: s.Backup}}
		t.m.SetGaugeWithLabels([]string{"backup", "healthy"}, boolGauge(s.Healthy), labels)
		t.m.SetGaugeWithLabels([]string{"backup", "overdue"}, boolGauge(s.Overdue), labels)
		if s.LastSuccess != nil {
			t.m.SetGaugeWithLabels([]string{"backup", "last_success_timestamp"}, float32(s.LastSuccess.Unix()), labels)
		}
		if s.Last != nil {
			t.m.SetGaugeWithLabels([]string{"backup", "duration_seconds"}, float32(s.Last.Duration().Seconds()), labels)
			t.m.SetGaugeWithLabels([]string{"backup", "bytes"}, float32(s.Last.Size), labels)
		}
		if v := s.Verify; v != nil {
			t.m.SetGaugeWithLabels([]string{"verify", "healthy"}, boolGauge(v.State == health.Passing), labels)
			if v.LastGood != nil {
				t.m.SetGaugeWithLabels([]string{"verify", "last_good_timestamp"}, float32(v.LastGood.Unix()), labels)
				t.m.SetGaugeWithLabels([]string{"verify", "rto_seconds"}, float32(v.RTO.Seconds()), labels)
				t.m.SetGaugeWithLabels([]string{"verify", "rpo_seconds"}, float32(v.RPO.Seconds()), labels)
			}
		}
	}
}

func boolGauge(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
