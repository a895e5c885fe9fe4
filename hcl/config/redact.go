package config

import (
	"net/url"
	"strings"
)

// RedactURL masks the user info's password of a URL ("user:xxxxx@") for
// messages. A string that does not parse as a URL is masked too: whatever
// stands before its last "@" may be credentials (url.Parse's own error
// quotes the whole string, so it never goes in a message either).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		return u.Redacted()
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	scheme := ""
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		scheme = raw[:i+3]
	}
	return scheme + "xxxxx@" + raw[at+1:]
}
