// Package objstore holds the object stores channels write to: an S3-compatible endpoint, a directory
// per bucket, and memory.
package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cockroachdb/pebble/v2/vfs"

	"kinesisd/internal/channel/s3dest"
)

// Each store below has the same contract: Put writes body under key in bucket, replacing what was
// there, and is durable when it returns (an S3 PUT, a synced file, or for Mem, the process's memory);
// a reader sees either the old object or the new one, never a part. Get returns an object's bytes,
// or an error wrapping fs.ErrNotExist when there is none. Put keeps no reference to body. The
// options (s3dest.ObjectOptions) are sent by S3 and ignored by Dir and Mem.

// ErrNoSpace is Dir's refusal of a write while the disk's free space is below its reserve.
var ErrNoSpace = errors.New("objstore: disk full: free space is below the reserve")

// Dir keeps each bucket as a directory under Root, each object as a file at its key (the key's
// slashes are directories). It refuses writes while the file system has less than Reserve bytes
// free, as the embedded store does.
type Dir struct {
	Root    string
	Reserve uint64
}

// path is the file of key in bucket; keys that would leave the bucket's directory are refused.
func (d *Dir) path(bucket, key string) (string, error) {
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." {
		return "", fmt.Errorf("objstore: invalid bucket name %q", bucket)
	}
	clean := filepath.Clean("/" + key)
	if key == "" || strings.HasSuffix(key, "/") || clean == "/" {
		return "", fmt.Errorf("objstore: invalid object key %q", key)
	}
	return filepath.Join(d.Root, bucket, filepath.FromSlash(clean)), nil
}

// Put writes the object through a temporary file, synced and renamed into place.
func (d *Dir) Put(ctx context.Context, bucket, key string, body []byte, opt s3dest.ObjectOptions) error {
	p, err := d.path(bucket, key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if d.Reserve > 0 {
		// Pebble's file system reads the free space on every platform (statfs, GetDiskFreeSpaceEx).
		if du, err := vfs.Default.GetDiskUsage(dir); err == nil && du.AvailBytes < d.Reserve+uint64(len(body)) {
			return fmt.Errorf("put %s/%s: %w", bucket, key, ErrNoSpace)
		}
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if df, err := os.Open(dir); err == nil {
		_ = df.Sync()
		_ = df.Close()
	}
	return nil
}

// Get reads an object's file.
func (d *Dir) Get(ctx context.Context, bucket, key string, opt s3dest.ObjectOptions) ([]byte, error) {
	p, err := d.path(bucket, key)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Mem keeps objects in memory (-in-memory).
type Mem struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket + "/" + key
}

// Put stores a copy of body.
func (m *Mem) Put(ctx context.Context, bucket, key string, body []byte, opt s3dest.ObjectOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = make(map[string][]byte)
	}
	m.objects[bucket+"/"+key] = bytes.Clone(body)
	return nil
}

// Get returns a copy of an object.
func (m *Mem) Get(ctx context.Context, bucket, key string, opt s3dest.ObjectOptions) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, fs.ErrNotExist)
	}
	return bytes.Clone(b), nil
}

// S3 writes to an S3-compatible endpoint (AWS S3, MinIO, versitygw, Ceph, gofakes3) with path-style
// addressing.
type S3 struct {
	client *s3.Client
}

// S3Config is how to reach an S3-compatible store.
type S3Config struct {
	Endpoint          string // URL
	Region            string
	AccessKey, Secret string // empty: the AWS environment variables
}

// NewS3 returns a store writing to cfg's endpoint.
func NewS3(cfg S3Config) *S3 {
	opts := s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		UsePathStyle: true,
	}
	key, secret := cfg.AccessKey, cfg.Secret
	if key == "" {
		key, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	opts.Credentials = credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))
	return &S3{client: s3.New(opts)}
}

// Put writes an object with one PUT, with opt's expected bucket owner and storage class.
func (c *S3) Put(ctx context.Context, bucket, key string, body []byte, opt s3dest.ObjectOptions) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if opt.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(opt.ExpectedBucketOwner)
	}
	if opt.StorageClass != "" {
		in.StorageClass = types.StorageClass(opt.StorageClass)
	}
	_, err := c.client.PutObject(ctx, in)
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// Get reads an object, with opt's expected bucket owner.
func (c *S3) Get(ctx context.Context, bucket, key string, opt s3dest.ObjectOptions) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if opt.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(opt.ExpectedBucketOwner)
	}
	out, err := c.client.GetObject(ctx, in)
	if err != nil {
		var nk *types.NoSuchKey
		var status interface{ HTTPStatusCode() int }
		if errors.As(err, &nk) || errors.As(err, &status) && status.HTTPStatusCode() == 404 {
			return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
