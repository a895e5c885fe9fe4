package harness

// THIS FILE IS A STAND-IN, NOT A REAL SERVER.
//
// Vault's AWS secrets engine cannot use MinIO as its upstream: it talks to
// the AWS IAM and STS APIs, which MinIO lacks. So that vault_aws_path runs
// against the real Vault, the engine's iam_endpoint and sts_endpoint point at
// this small HTTP server, which answers the few IAM/STS query-API calls Vault
// makes for an iam_user role, in the XML shapes of the AWS IAM API reference
// (https://docs.aws.amazon.com/IAM/latest/APIReference/). CreateAccessKey
// creates a real MinIO user with those keys, and DeleteAccessKey/DeleteUser
// remove it, so keys Vault issues work against MinIO and stop working when
// Vault revokes the lease. Everything else (Vault's leases, renewals,
// revocation, policies) is the real Vault.

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// IAMStandIn is the in-test IAM/STS stand-in described above.
type IAMStandIn struct {
	minio *MinIO
	srv   *http.Server
	URL   string

	mu       sync.Mutex
	users    map[string][]string // user -> access keys
	policies map[string][]string // user -> inline policy names
	calls    []string
	issued   map[string]string // every access key ever issued -> its secret
	tokens   map[string]string // access key -> session token, for AssumeRole keys
	parent   [2]string         // the MinIO user AssumeRole is signed with
}

// StartIAMStandIn serves on a free loopback port.
func StartIAMStandIn(m *MinIO) (*IAMStandIn, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("harness: iam stand-in: %w", err)
	}
	s := &IAMStandIn{minio: m, URL: "http://" + l.Addr().String(), users: map[string][]string{}, policies: map[string][]string{}, issued: map[string]string{}, tokens: map[string]string{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

// Stop closes the server.
func (s *IAMStandIn) Stop() {
	if s != nil {
		s.srv.Close()
	}
}

// Calls lists the actions received, in order.
func (s *IAMStandIn) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Issued returns every key pair issued so far, access key -> secret.
func (s *IAMStandIn) Issued() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.issued {
		out[k] = v
	}
	return out
}

// SessionToken is the session token issued with an AssumeRole access key.
func (s *IAMStandIn) SessionToken(access string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[access]
}

// LiveKeys lists the access keys that exist now.
func (s *IAMStandIn) LiveKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ks := range s.users {
		out = append(out, ks...)
	}
	return out
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

func (s *IAMStandIn) handle(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, "InvalidRequest", err.Error(), 400)
		return
	}
	action := r.Form.Get("Action")
	user := r.Form.Get("UserName")
	s.mu.Lock()
	s.calls = append(s.calls, action)
	s.mu.Unlock()
	ctx := r.Context()

	switch action {
	case "GetCallerIdentity":
		s.reply(w, action, "https://sts.amazonaws.com/doc/2011-06-15/",
			el("Arn", "arn:aws:iam::000000000000:user/standin")+el("UserId", "AIDASTANDIN")+el("Account", "000000000000"))
	case "GetUser", "CreateUser":
		if action == "CreateUser" {
			s.mu.Lock()
			s.users[user] = nil
			s.mu.Unlock()
		}
		name := orDefault(user, "standin")
		s.reply(w, action, iamNS, el("User", el("Path", "/")+el("UserName", name)+el("UserId", "AIDA"+name)+
			el("Arn", "arn:aws:iam::000000000000:user/"+name)+el("CreateDate", now())))
	case "PutUserPolicy":
		s.mu.Lock()
		s.policies[user] = append(s.policies[user], r.Form.Get("PolicyName"))
		s.mu.Unlock()
		s.reply(w, action, iamNS, "")
	case "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy", "AddUserToGroup", "RemoveUserFromGroup", "TagUser":
		s.reply(w, action, iamNS, "")
	case "CreateAccessKey":
		// A prefix of our own, not the one AWS gives: these keys are made here for
		// MinIO, and secret scanners should not mistake the source for a leak.
		// MinIO takes access keys of at most 20 characters.
		key, secret := randomKey("SKEY", 16), randomKey("", 40)
		if err := s.minio.AddUser(ctx, key, secret); err != nil {
			s.fail(w, "ServiceFailure", err.Error(), 500)
			return
		}
		s.mu.Lock()
		s.users[user] = append(s.users[user], key)
		s.issued[key] = secret
		s.mu.Unlock()
		s.reply(w, action, iamNS, el("AccessKey", el("UserName", user)+el("AccessKeyId", key)+el("Status", "Active")+
			el("SecretAccessKey", secret)+el("CreateDate", now())))
	case "ListAccessKeys":
		s.mu.Lock()
		members := ""
		for _, k := range s.users[user] {
			members += el("member", el("UserName", user)+el("AccessKeyId", k)+el("Status", "Active")+el("CreateDate", now()))
		}
		s.mu.Unlock()
		s.reply(w, action, iamNS, el("AccessKeyMetadata", members)+el("IsTruncated", "false"))
	case "DeleteAccessKey":
		key := r.Form.Get("AccessKeyId")
		if err := s.minio.RemoveUser(ctx, key); err != nil {
			s.fail(w, "ServiceFailure", err.Error(), 500)
			return
		}
		s.mu.Lock()
		s.users[user] = remove(s.users[user], key)
		s.mu.Unlock()
		s.reply(w, action, iamNS, "")
	case "ListUserPolicies":
		s.mu.Lock()
		members := ""
		for _, n := range s.policies[user] {
			members += el("member", n)
		}
		s.mu.Unlock()
		s.reply(w, action, iamNS, el("PolicyNames", members)+el("IsTruncated", "false"))
	case "ListAttachedUserPolicies":
		s.reply(w, action, iamNS, el("AttachedPolicies", "")+el("IsTruncated", "false"))
	case "ListGroupsForUser":
		s.reply(w, action, iamNS, el("Groups", "")+el("IsTruncated", "false"))
	case "AssumeRole":
		s.assumeRole(w, r)
	case "DeleteUser":
		s.mu.Lock()
		keys := s.users[user]
		delete(s.users, user)
		delete(s.policies, user)
		s.mu.Unlock()
		for _, k := range keys {
			_ = s.minio.RemoveUser(ctx, k)
		}
		s.reply(w, action, iamNS, "")
	default:
		s.fail(w, "InvalidAction", "the IAM stand-in does not implement "+action, 400)
	}
}

// reply writes <ActionResponse><ActionResult>inner</ActionResult><ResponseMetadata/></ActionResponse>.
func (s *IAMStandIn) reply(w http.ResponseWriter, action, ns, inner string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `%s<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>standin-%s</RequestId></ResponseMetadata></%sResponse>`,
		xml.Header, action, ns, action, inner, action, action, action)
}

func (s *IAMStandIn) fail(w http.ResponseWriter, code, msg string, status int) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>standin</RequestId></ErrorResponse>`,
		iamNS, code, escape(msg))
}

// el is one XML element with escaped text, or nested elements when the
// content already starts with "<".
func el(name, content string) string {
	if len(content) == 0 || content[0] != '<' {
		content = escape(content)
	}
	return "<" + name + ">" + content + "</" + name + ">"
}

func escape(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomKey(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return prefix + string(b)
}

func remove(list []string, v string) []string {
	var out []string
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
