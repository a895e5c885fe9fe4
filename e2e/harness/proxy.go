package harness

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProxyRule changes the requests whose method and path match, or their
// answers: Status answers that status instead of passing the request on;
// CutAfter ends the answer's body cleanly after that many bytes (a server
// that fails mid-copy ends a chunked body normally); Rewrite replaces the
// answer's body; RewriteRequest replaces the request's body before the
// server sees it (a link that flips a bit on the way), seeing its headers.
type ProxyRule struct {
	Method         string
	PathPrefix     string
	Status         int
	CutAfter       int64
	Rewrite        func([]byte) []byte
	RewriteRequest func(http.Header, []byte) []byte
}

func (r ProxyRule) matches(req *http.Request) bool {
	return (r.Method == "" || r.Method == req.Method) && strings.HasPrefix(req.URL.Path, r.PathPrefix)
}

// HTTPProxy is a reverse proxy in front of a real server, whose answers a
// test changes with rules: the faults a server can produce that the real
// one will not produce on demand.
type HTTPProxy struct {
	URL   string
	srv   *http.Server
	mu    sync.Mutex
	rules []ProxyRule
	hits  map[string]int
	// tokens are the token header values seen, by path area /v1/<x>.
	tokens map[string]map[string]bool
}

// StartHTTPProxy proxies to target (a base URL). upstream, when set, is
// the TLS config to reach an HTTPS target; serve, when set, makes the proxy
// serve HTTPS itself.
func StartHTTPProxy(target string, upstream, serve *tls.Config) (*HTTPProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &HTTPProxy{hits: map[string]int{}, tokens: map[string]map[string]bool{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		// Bodies are cut and rewritten as the server wrote them: ask for
		// no transfer compression (Consul gzips answers when asked).
		r.Header.Del("Accept-Encoding")
	}
	rp.Transport = &http.Transport{TLSClientConfig: upstream, Proxy: nil, DisableCompression: true}
	rp.FlushInterval = -1
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			return // the client went away (a blocking query it cancelled)
		}
		http.Error(w, "harness proxy: "+err.Error(), http.StatusBadGateway)
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		rule, ok := p.rule(resp.Request)
		if !ok {
			return nil
		}
		switch {
		case rule.Rewrite != nil:
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			b = rule.Rewrite(b)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		case rule.CutAfter > 0:
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.LimitReader(resp.Body, rule.CutAfter), resp.Body}
			resp.ContentLength = -1
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.Method+" "+r.URL.Path]++
		for _, h := range []string{"X-Consul-Token", "X-Nomad-Token", "X-Vault-Token"} {
			if tok := r.Header.Get(h); tok != "" {
				area := strings.Join(strings.SplitN(r.URL.Path, "/", 4)[:3], "/")
				if p.tokens[area] == nil {
					p.tokens[area] = map[string]bool{}
				}
				p.tokens[area][tok] = true
			}
		}
		p.mu.Unlock()
		rule, ok := p.rule(r)
		if ok && rule.Status != 0 {
			http.Error(w, "harness proxy: refused on purpose", rule.Status)
			return
		}
		if ok && rule.RewriteRequest != nil {
			b, err := io.ReadAll(r.Body)
			r.Body.Close()
			if err != nil {
				http.Error(w, "harness proxy: read request: "+err.Error(), http.StatusBadGateway)
				return
			}
			b = rule.RewriteRequest(r.Header, b)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength, r.TransferEncoding = int64(len(b)), nil
		}
		rp.ServeHTTP(w, r)
	})
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if serve != nil {
		l = tls.NewListener(l, serve)
		scheme = "https"
	}
	p.URL = fmt.Sprintf("%s://%s", scheme, l.Addr())
	go p.srv.Serve(l)
	return p, nil
}

func (p *HTTPProxy) rule(r *http.Request) (ProxyRule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.matches(r) {
			return rule, true
		}
	}
	return ProxyRule{}, false
}

// Set replaces the rules.
func (p *HTTPProxy) Set(rules ...ProxyRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

// Hits counts the requests seen whose "METHOD path" starts with prefix.
func (p *HTTPProxy) Hits(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, c := range p.hits {
		if strings.HasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}

// Tokens are the distinct token header values (X-Consul-Token,
// X-Nomad-Token, X-Vault-Token) of the requests under area ("/v1/kv",
// "/v1/operator"): which credential a client used.
func (p *HTTPProxy) Tokens(area string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for t := range p.tokens[area] {
		out = append(out, t)
	}
	return out
}

// Addr is host:port.
func (p *HTTPProxy) Addr() string { return strings.SplitN(p.URL, "://", 2)[1] }

// Close stops the proxy.
func (p *HTTPProxy) Close() { p.srv.Close() }

// TCPProxy forwards TCP connections to a target, optionally slowing the
// answers to a byte rate (a slow network) or cutting a connection after a
// number of answer bytes (a server or link that dies mid-stream).
type TCPProxy struct {
	Addr   string
	target string
	l      net.Listener
	mu     sync.Mutex
	rate   int64
	upRate int64
	cut    int64
	conns  map[net.Conn]bool
	// answered counts the answer bytes sent, over every connection.
	answered atomic.Int64
}

// Answered is how many answer bytes went through so far.
func (p *TCPProxy) Answered() int64 { return p.answered.Load() }

// StartTCPProxy listens on a free loopback port.
func StartTCPProxy(target string) (*TCPProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{Addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]bool{}}
	go p.accept()
	return p, nil
}

// Throttle limits answers to bytesPerSecond per connection (0: no limit).
func (p *TCPProxy) Throttle(bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSecond
}

// ThrottleRequests limits what clients send to bytesPerSecond per
// connection (0: no limit): an upload over a slow link.
func (p *TCPProxy) ThrottleRequests(bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upRate = bytesPerSecond
}

// CutAfter closes each new connection after n answer bytes (0: never).
func (p *TCPProxy) CutAfter(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = n
}

func (p *TCPProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *TCPProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, up)
		p.mu.Unlock()
		c.Close()
		up.Close()
	}()
	go func() {
		p.sendRequests(up, c)
		up.Close()
	}()
	buf := make([]byte, 32<<10)
	var sent int64
	start := time.Now()
	for {
		n, err := up.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			p.mu.Lock()
			rate, cut := p.rate, p.cut
			p.mu.Unlock()
			// Throttled answers go out in slices of a twentieth of a
			// second's worth, so a small answer is slow too.
			step := int64(len(chunk))
			if rate > 0 {
				step = min(step, max(rate/20, 1))
			}
			if cut > 0 && sent+step > cut {
				c.Write(chunk[:cut-sent])
				return
			}
			if _, werr := c.Write(chunk[:step]); werr != nil {
				return
			}
			chunk = chunk[step:]
			sent += step
			p.answered.Add(step)
			if rate > 0 {
				if ahead := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// sendRequests copies a client's bytes to the server, at upRate when set.
func (p *TCPProxy) sendRequests(up, c net.Conn) {
	buf := make([]byte, 32<<10)
	var sent int64
	start := time.Now()
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			p.mu.Lock()
			rate := p.upRate
			p.mu.Unlock()
			if rate > 0 {
				if ahead := time.Duration(float64(sent)/float64(rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Close stops the proxy and every connection through it.
func (p *TCPProxy) Close() {
	p.l.Close()
	p.Drop()
}

// Drop ends every connection at once, with what the proxy still held
// unsent: with a throttled answer, what a server that stops mid-stream
// would never have sent.
func (p *TCPProxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, not an orderly end
		}
		c.Close()
	}
}
