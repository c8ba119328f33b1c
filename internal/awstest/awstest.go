// Package awstest starts the API-compatible AWS servers the ctc tests run against — kinesalite
// (Kinesis), dynalite (DynamoDB) and s3rver (S3), from npm, on 127.0.0.1 — and the AWS Lambda
// Runtime Interface Emulator. Nothing here is a mock: each server speaks the service's wire
// protocol, and the adapters under test use the real AWS SDK clients against it.
//
// A test package that uses it stops the servers when its tests end:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
//
// Servers start on first use, once per test binary. When the npm packages are not installed the
// tests that need them skip, naming the script that installs them — unless CTC_REQUIRE_AWS_EMULATORS
// is set (scripts/test.sh sets it), in which case they fail.
package awstest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Region is the region every emulator client uses.
const Region = "us-east-1"

// The fixed credentials of the emulators: s3rver accepts only S3RVER/S3RVER; kinesalite and
// dynalite accept anything.
const (
	S3AccessKey = "S3RVER"
	S3SecretKey = "S3RVER"
	fakeKey     = "ctc-test"
)

// Endpoint is one running server.
type Endpoint struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Config is an AWS SDK configuration for it: region, static credentials, retries kept short.
	Config aws.Config
}

type server struct {
	once sync.Once
	ep   Endpoint
	err  error
	cmd  *exec.Cmd
	dir  string
}

var (
	mu      sync.Mutex
	servers = map[string]*server{}
	names   atomic.Int64
)

// Main runs the tests and then stops every server they started. Use it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops every running server and removes the bootstraps BuildBootstrap built.
func Stop() {
	removeBuilds()
	mu.Lock()
	defer mu.Unlock()
	for k, s := range servers {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
		delete(servers, k)
	}
}

// Kinesis returns the kinesalite server, starting it on first use.
func Kinesis(t testing.TB) Endpoint { return start(t, "kinesis") }

// DynamoDB returns the dynalite server, starting it on first use.
func DynamoDB(t testing.TB) Endpoint { return start(t, "dynamodb") }

// S3 returns the s3rver server, starting it on first use.
func S3(t testing.TB) Endpoint { return start(t, "s3") }

// KinesisClient is a Kinesis client for the kinesalite server.
func KinesisClient(t testing.TB) *kinesis.Client {
	ep := Kinesis(t)
	return kinesis.NewFromConfig(ep.Config, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(ep.URL) })
}

// DynamoDBClient is a DynamoDB client for the dynalite server.
func DynamoDBClient(t testing.TB) *dynamodb.Client {
	ep := DynamoDB(t)
	return dynamodb.NewFromConfig(ep.Config, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep.URL) })
}

// S3Client is a path-style S3 client for the s3rver server.
func S3Client(t testing.TB) *s3.Client {
	ep := S3(t)
	return s3.NewFromConfig(ep.Config, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(ep.URL)
		o.UsePathStyle = true
	})
}

// Name returns a resource name (stream, table, bucket) unique within the test binary, made of
// lower-case letters, digits and dashes, starting with prefix.
func Name(t testing.TB, prefix string) string {
	n := names.Add(1)
	base := strings.ToLower(invalidName.ReplaceAllString(t.Name(), "-"))
	if len(base) > 30 {
		base = base[:30]
	}
	return strings.Trim(fmt.Sprintf("%s-%s-%d-%d", prefix, base, os.Getpid()%100000, n), "-")
}

var invalidName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// NodeDir is the folder holding the emulators' package.json and node_modules.
func NodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node")
}

// Required reports whether missing emulators fail the tests instead of skipping them.
func Required() bool { return os.Getenv("CTC_REQUIRE_AWS_EMULATORS") != "" }

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg + " (install with: bash scripts/ensure-aws-emulators.sh)")
}

func start(t testing.TB, kind string) Endpoint {
	t.Helper()
	mu.Lock()
	s, ok := servers[kind]
	if !ok {
		s = &server{}
		servers[kind] = s
	}
	mu.Unlock()
	s.once.Do(func() { s.err = s.start(kind) })
	if s.err != nil {
		unavailable(t, "awstest: %s emulator: %v", kind, s.err)
	}
	return s.ep
}

func (s *server) start(kind string) error {
	dir := NodeDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		return fmt.Errorf("npm packages not installed in %s", dir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node not found: %w", err)
	}
	args := []string{filepath.Join(dir, "serve.js"), kind}
	if kind == "s3" {
		d, err := os.MkdirTemp("", "ctc-s3rver-")
		if err != nil {
			return err
		}
		s.dir = d
		args = append(args, d)
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The server exits when its stdin closes, that is when this process ends however it ends.
	if _, err := cmd.StdinPipe(); err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case p := <-port:
		s.ep.URL = "http://127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("%s did not start within 30s", kind)
	}
	key, secret := fakeKey, fakeKey
	if kind == "s3" {
		key, secret = S3AccessKey, S3SecretKey
	}
	s.ep.Config = aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 3,
	}
	return nil
}

// Wait polls cond every 20 ms until it is true or the timeout passes.
func Wait(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("awstest: timed out after %v waiting for %s", timeout, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
