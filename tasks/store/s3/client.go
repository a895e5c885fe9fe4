package s3

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"sync"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Endpoint is where an S3 client connects.
type Endpoint struct {
	// Endpoint is a custom base URL (MinIO); empty means AWS.
	Endpoint  string
	Region    string
	PathStyle bool
}

// NewClient builds the S3 client every part of vigil uses.
//
// The HTTP client is the SDK's buildable client: these machines set
// AWS_CA_BUNDLE, and the SDK refuses a plain *http.Client then. Checksums are
// only computed when an operation requires them, because MinIO over plain
// HTTP rejects the SDK's default trailing checksums on streamed parts; vigil
// computes its own sha256 of the whole object anyway.
func NewClient(ep Endpoint, creds awsv2.CredentialsProvider) *awss3.Client {
	return NewClientWithCA(ep, creds, "")
}

// NewClientWithCA is NewClient trusting the CA bundle in caFile ("":
// AWS_CA_BUNDLE, as the AWS CLI and SDKs read it) beside the system's.
func NewClientWithCA(ep Endpoint, creds awsv2.CredentialsProvider, caFile string) *awss3.Client {
	region := ep.Region
	if region == "" {
		region = "us-east-1"
	}
	return awss3.New(awss3.Options{
		Region:                     region,
		Credentials:                creds,
		UsePathStyle:               ep.PathStyle,
		BaseEndpoint:               nonEmpty(ep.Endpoint),
		HTTPClient:                 HTTPClient(caFile),
		RequestChecksumCalculation: awsv2.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: awsv2.ResponseChecksumValidationWhenRequired,
	})
}

var httpClients sync.Map // CA bundle path -> *awshttp.BuildableClient

// HTTPClient is the HTTP client of vigil's S3 and STS clients: it trusts
// the CA bundle in caFile, or AWS_CA_BUNDLE when caFile is "" (the
// variable the AWS CLI and SDKs read; these clients are built by hand, so
// the SDK's config loading would not), beside the system's CAs. It writes
// request bodies in large chunks: parts are megabytes, and the default 4
// KiB buffer costs a syscall per 4 KiB.
func HTTPClient(caFile string) *awshttp.BuildableClient {
	if caFile == "" {
		caFile = os.Getenv("AWS_CA_BUNDLE")
	}
	if c, ok := httpClients.Load(caFile); ok {
		return c.(*awshttp.BuildableClient)
	}
	var roots *x509.CertPool
	if caFile != "" {
		roots, _ = x509.SystemCertPool()
		if roots == nil {
			roots = x509.NewCertPool()
		}
		if pem, err := os.ReadFile(caFile); err == nil {
			roots.AppendCertsFromPEM(pem)
		}
	}
	c := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.WriteBufferSize = 256 << 10
		tr.ReadBufferSize = 64 << 10
		if roots != nil {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = roots
		}
	})
	httpClients.Store(caFile, c)
	return c
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
