package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"kinesisd/internal/config"
	"kinesisd/internal/kinesistest"
)

// tlsClient trusts the server's certificate file and speaks HTTP/2 by ALPN (and HTTP/1.1).
func tlsClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	return &http.Client{Transport: tlsTransport(t, certFile)}
}

// useTLS drives the SDK over HTTPS at endpoint and checks, in /metrics, that the calls used HTTP/2.
func useTLS(t *testing.T, s *kinesistest.Server, endpoint string, hc *http.Client) {
	t.Helper()
	c := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: s.Client.Options().Credentials, RetryMaxAttempts: 1})
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("secure"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	put, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("secure"), PartitionKey: aws.String("k"), Data: []byte("over tls")})
	if err != nil {
		t.Fatal(err)
	}
	tls := *s
	tls.Client = c
	recs := readShard(t, &tls, "secure", *put.ShardId)
	if len(recs) != 1 || string(recs[0].Data) != "over tls" {
		t.Fatalf("read %d records over TLS", len(recs))
	}
	resp, err := hc.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `kinesisd_http_requests_total{operation="PutRecord",proto="HTTP/2.0"} 1`) {
		t.Errorf("PutRecord did not arrive over HTTP/2:\n%s", b)
	}
}

func TestTLSGeneratedCertificate(t *testing.T) {
	for _, e := range kinesistest.RunEngines() {
		t.Run(e.Name, func(t *testing.T) {
			s := kinesistest.Start(t, e, kinesistest.Options{Configure: func(c *config.Config) { c.TLS = true }})
			if s.TLSAddr() != s.Addr() || s.TLSCertFile() == "" {
				t.Fatalf("TLS on -listen: addr %s, tls %s, cert %q", s.Addr(), s.TLSAddr(), s.TLSCertFile())
			}
			useTLS(t, s, "https://"+s.TLSAddr(), tlsClient(t, s.TLSCertFile()))
			// The certificate names localhost too.
			useTLSHost(t, "https://localhost:"+s.TLSAddr()[strings.LastIndex(s.TLSAddr(), ":")+1:], s.TLSCertFile())
		})
	}
}

func useTLSHost(t *testing.T, endpoint, certFile string) {
	t.Helper()
	resp, err := tlsClient(t, certFile).Get(endpoint + "/metrics")
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	resp.Body.Close()
}

func TestTLSListenBesidePlain(t *testing.T) {
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.TLSListen = "127.0.0.1:0" }})
	if s.TLSAddr() == "" || s.TLSAddr() == s.Addr() {
		t.Fatalf("separate TLS port: addr %s, tls %s", s.Addr(), s.TLSAddr())
	}
	useTLS(t, s, "https://"+s.TLSAddr(), tlsClient(t, s.TLSCertFile()))
	// -listen stays plain.
	createStream(t, s.Client, "plain", 1)
}

func TestTLSCertificateFiles(t *testing.T) {
	// A first server generates a pair; a second one is given it as -tls-cert/-tls-key.
	first := kinesistest.Start(t, kinesistest.Engines[0], kinesistest.Options{Configure: func(c *config.Config) { c.TLS = true }})
	cert := first.TLSCertFile()
	key := strings.TrimSuffix(cert, "cert.pem") + "key.pem"
	s := kinesistest.Start(t, kinesistest.Engines[1], kinesistest.Options{Configure: func(c *config.Config) { c.TLSCert, c.TLSKey = cert, key }})
	if s.TLSCertFile() != cert || s.TLSAddr() != s.Addr() {
		t.Fatalf("cert %q, addr %s, tls %s", s.TLSCertFile(), s.Addr(), s.TLSAddr())
	}
	useTLS(t, s, "https://"+s.TLSAddr(), tlsClient(t, cert))
}
