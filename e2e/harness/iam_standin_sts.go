package harness

// Part of the IAM/STS stand-in (see iam_standin.go): AssumeRole, forwarded
// to MinIO's real STS.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscred "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/vigil-backup/vigil/tasks/store/s3"
)

func (s *IAMStandIn) assumeRole(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	parent, err := s.stsParent(ctx)
	if err != nil {
		s.fail(w, "ServiceFailure", err.Error(), 500)
		return
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(r.Form.Get("RoleArn")),
		RoleSessionName: aws.String(orDefault(r.Form.Get("RoleSessionName"), "vault")),
	}
	if d := r.Form.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			s.fail(w, "ValidationError", "DurationSeconds: "+err.Error(), 400)
			return
		}
		in.DurationSeconds = aws.Int32(int32(n))
	}
	c := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.minio.Endpoint()),
		HTTPClient:   s3.HTTPClient(s.minio.caFile()),
		Credentials:  awscred.NewStaticCredentialsProvider(parent[0], parent[1], ""),
	})
	out, err := c.AssumeRole(ctx, in)
	if err != nil {
		s.fail(w, "AccessDenied", "MinIO STS AssumeRole: "+err.Error(), 403)
		return
	}
	cr := out.Credentials
	s.mu.Lock()
	s.issued[aws.ToString(cr.AccessKeyId)] = aws.ToString(cr.SecretAccessKey)
	s.tokens[aws.ToString(cr.AccessKeyId)] = aws.ToString(cr.SessionToken)
	s.mu.Unlock()
	s.reply(w, "AssumeRole", "https://sts.amazonaws.com/doc/2011-06-15/",
		el("Credentials", el("AccessKeyId", aws.ToString(cr.AccessKeyId))+el("SecretAccessKey", aws.ToString(cr.SecretAccessKey))+
			el("SessionToken", aws.ToString(cr.SessionToken))+el("Expiration", aws.ToTime(cr.Expiration).UTC().Format(time.RFC3339)))+
			el("AssumedRoleUser", el("Arn", aws.ToString(in.RoleArn)+"/"+aws.ToString(in.RoleSessionName))+
				el("AssumedRoleId", "AROASTANDIN:"+aws.ToString(in.RoleSessionName))))
}

// stsParent creates, once, the MinIO user whose rights temporary keys inherit.
func (s *IAMStandIn) stsParent(ctx context.Context) ([2]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parent[0] != "" {
		return s.parent, nil
	}
	p := [2]string{randomKey("STSPARENT", 11), randomKey("", 40)}
	if err := s.minio.AddUser(ctx, p[0], p[1]); err != nil {
		return p, fmt.Errorf("harness: iam stand-in: sts parent user: %w", err)
	}
	s.parent = p
	return p, nil
}
