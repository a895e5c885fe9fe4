package parse

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// evaluator evaluates attributes in the configuration's context and collects
// diagnostics, so decoding code reads as a list of fields.
type evaluator struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (e *evaluator) errorf(rng hcl.Range, summary, format string, args ...any) {
	e.diags = append(e.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// errorCount is how many errors are reported so far: a check that would
// only repeat an earlier error compares it before and after.
func (e *evaluator) errorCount() int {
	n := 0
	for _, d := range e.diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

// require reports a missing required attribute. gohcl treats pointer
// fields as optional, so the *hcl.Attribute fields are checked here.
func (e *evaluator) require(attr *hcl.Attribute, name string, block hcl.Range) bool {
	if attr != nil {
		return true
	}
	e.errorf(block, "Missing required argument",
		"The argument %q is required, but no definition was found.", name)
	return false
}

// decode runs gohcl on a body with the evaluation context; its
// diagnostics name the block and the valid names (teach).
func (e *evaluator) decode(body hcl.Body, v any) bool {
	return e.decodeFrom(body, body, v)
}

// decodeFrom decodes body, an expansion of the source src (dynamic
// blocks), and teaches from src's syntax.
func (e *evaluator) decodeFrom(src, body hcl.Body, v any) bool {
	d := gohcl.DecodeBody(body, e.ctx, v)
	teach(d, src, v, e.ctx)
	e.diags = append(e.diags, d...)
	return !d.HasErrors()
}

// value decodes attr into dst; a nil attr leaves dst alone.
func (e *evaluator) value(attr *hcl.Attribute, dst any) bool {
	if attr == nil {
		return false
	}
	d := gohcl.DecodeExpression(attr.Expr, e.ctx, dst)
	for _, diag := range d {
		if diag.Summary == "Unsuitable value type" || diag.Summary == "Incorrect attribute value type" {
			teachType(diag, attr.Name, attr.Expr, e.ctx)
		}
	}
	e.diags = append(e.diags, d...)
	return !d.HasErrors()
}

func (e *evaluator) str(attr *hcl.Attribute, def string) string {
	s := def
	e.value(attr, &s)
	return s
}

func (e *evaluator) enum(attr *hcl.Attribute, def string, allowed ...string) string {
	if attr == nil {
		return def
	}
	var s string
	if !e.value(attr, &s) {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	e.errorf(attr.Expr.Range(), "Invalid value for "+attr.Name,
		"%q is not one of %s.", s, quoteList(allowed))
	return def
}

// duration parses Go durations plus a whole-day suffix ("30d", "1d12h"),
// because retention is naturally counted in days.
func (e *evaluator) duration(attr *hcl.Attribute, def time.Duration) time.Duration {
	if attr == nil {
		return def
	}
	var s string
	if !e.value(attr, &s) {
		return def
	}
	d, err := ParseDuration(s)
	if err != nil {
		e.errorf(attr.Expr.Range(), "Invalid duration",
			"%q is not a duration: %s. Use a number and a unit, such as \"90s\", \"15m\", \"6h\" or \"30d\".", s, err)
		return def
	}
	if d < 0 {
		e.errorf(attr.Expr.Range(), "Invalid duration", "%s must not be negative, got %q.", attr.Name, s)
		return def
	}
	return d
}

var daysPrefix = regexp.MustCompile(`^(\d+)d`)

// ParseDuration is time.ParseDuration with a leading whole-day term allowed.
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if m := daysPrefix.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("day count %q out of range", m[1])
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[len(m[0]):]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "time: "))
	}
	return days + d, nil
}

// cron validates a cron expression with the parser Nomad's periodic
// scheduler uses, so anything accepted here Nomad accepts too.
func (e *evaluator) cron(attr *hcl.Attribute) string {
	if attr == nil {
		return ""
	}
	var s string
	if !e.value(attr, &s) {
		return ""
	}
	if _, err := cronexpr.Parse(s); err != nil {
		e.errorf(attr.Expr.Range(), "Invalid cron schedule", "%s", cronHelp(s, err))
		return ""
	}
	e.cronFieldsWarning(attr, s)
	return s
}

// cronFields names the five fields of a cron schedule, for errors.
const cronFields = "A cron schedule has five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12) and day of week (0-6, Sunday is 0), " +
	"such as \"30 2 * * *\" for 02:30 every day or \"*/15 * * * *\" for every 15 minutes. " +
	"Nomad also takes @hourly, @daily, @weekly, @monthly and @yearly."

// cronHelp says why s is not a schedule and what to write instead.
func cronHelp(s string, err error) string {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(s), "@every"); ok {
		msg := fmt.Sprintf("%q is not a cron expression: @every is an interval (robfig/cron's), and Nomad's periodic scheduler takes cron only.", s)
		if d, perr := ParseDuration(strings.TrimSpace(rest)); perr == nil {
			if c := everyAsCron(d); c != "" {
				msg += fmt.Sprintf(" Every %s is %q.", strings.TrimSpace(rest), c)
			}
		}
		return msg + " " + cronFields
	}
	n := len(strings.Fields(s))
	return fmt.Sprintf("%q is not a cron expression Nomad's periodic scheduler accepts (%d fields; %s). %s", s, n, err, cronFields)
}

// everyAsCron is the cron schedule of a fixed interval that divides an
// hour or a day evenly, or "".
func everyAsCron(d time.Duration) string {
	switch {
	case d >= time.Minute && d < time.Hour && d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", int(d.Minutes()))
	case d == time.Hour:
		return "0 * * * *"
	case d > time.Hour && d < 24*time.Hour && d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 */%d * * *", int(d.Hours()))
	case d == 24*time.Hour:
		return "0 0 * * *"
	}
	return ""
}

// cronFieldsWarning says how Nomad reads a schedule of 6 or 7 fields,
// which Quartz and Spring read with seconds first.
func (e *evaluator) cronFieldsWarning(attr *hcl.Attribute, s string) {
	var detail string
	switch f := strings.Fields(s); len(f) {
	case 6:
		detail = fmt.Sprintf("Nomad reads six fields as minute, hour, day of month, month, day of week and year: the last field is the year, not the first the seconds as in Quartz or Spring. %q runs at minute %s, hour %s. For seconds first, write seven fields (second minute hour day month weekday year); otherwise drop the year for the usual five.", s, f[0], f[1])
	case 7:
		detail = fmt.Sprintf("Nomad reads seven fields as second, minute, hour, day of month, month, day of week and year: %q runs at second %s, minute %s, hour %s. A backup needs no seconds: the usual five fields (minute hour day month weekday) say the same.", s, f[0], f[1], f[2])
	default:
		return
	}
	e.diags = append(e.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  fmt.Sprintf("Cron schedule with %d fields", len(strings.Fields(s))),
		Detail:   detail + " `vigil validate -v` prints the next runs.",
		Subject:  attr.Expr.Range().Ptr(),
	})
}

func (e *evaluator) timeZone(attr *hcl.Attribute) string {
	if attr == nil {
		return ""
	}
	var s string
	if !e.value(attr, &s) {
		return ""
	}
	if _, err := time.LoadLocation(s); err != nil {
		e.errorf(attr.Expr.Range(), "Invalid time zone",
			"%q is not a time zone name from the IANA database, such as \"UTC\" or \"Europe/Berlin\": %s.", s, err)
		return ""
	}
	return s
}

func (e *evaluator) nonNegative(attr *hcl.Attribute, def int) int {
	n := def
	if e.value(attr, &n) && n < 0 {
		e.errorf(attr.Expr.Range(), "Invalid value for "+attr.Name, "%s must be zero or more, got %d.", attr.Name, n)
		return def
	}
	return n
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
