package store

import (
	"net/http"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Endpoint is where an S3 client connects.
type S3Endpoint struct {
	// Endpoint is a custom base URL (MinIO); empty means AWS.
	Endpoint  string
	Region    string
	PathStyle bool
}

// NewS3Client builds the S3 client every part of vigil uses.
//
// The HTTP client is the SDK's buildable client: these machines set
// AWS_CA_BUNDLE, and the SDK refuses a plain *http.Client then. Checksums are
// only computed when an operation requires them, because MinIO over plain
// HTTP rejects the SDK's default trailing checksums on streamed parts; vigil
// computes its own sha256 of the whole object anyway.
func NewS3Client(ep S3Endpoint, creds awsv2.CredentialsProvider) *s3.Client {
	region := ep.Region
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		Region:                     region,
		Credentials:                creds,
		UsePathStyle:               ep.PathStyle,
		BaseEndpoint:               nonEmpty(ep.Endpoint),
		HTTPClient:                 httpClient,
		RequestChecksumCalculation: awsv2.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: awsv2.ResponseChecksumValidationWhenRequired,
	})
}

// httpClient writes request bodies in large chunks: parts are megabytes,
// and the default 4 KiB buffer costs a syscall per 4 KiB.
var httpClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
	tr.WriteBufferSize = 256 << 10
	tr.ReadBufferSize = 64 << 10
})

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
