package awstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RIEPath finds the AWS Lambda Runtime Interface Emulator: $CTC_RIE, then .tools/bin of the
// repository (where scripts/ensure-aws-emulators.sh installs it), then $PATH.
func RIEPath() (string, error) {
	if p := os.Getenv("CTC_RIE"); p != "" {
		return p, nil
	}
	p := filepath.Join(NodeDir(), "..", "..", "..", ".tools", "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return filepath.Clean(p), nil
	}
	return exec.LookPath("aws-lambda-rie")
}

// Lambda is a bootstrap binary running under the Runtime Interface Emulator.
type Lambda struct {
	// URL is the emulator's invoke URL.
	URL string
}

// StartLambda runs the bootstrap binary under the emulator on a free loopback port, with env
// added to this process's environment, and stops it when the test ends.
func StartLambda(t testing.TB, bootstrap string, env ...string) *Lambda {
	t.Helper()
	rie, err := RIEPath()
	if err != nil {
		unavailable(t, "awstest: aws-lambda-rie not found: %v", err)
	}
	// Both of the emulator's servers get a free port: the Runtime API the bootstrap polls would
	// otherwise be 127.0.0.1:9001 in every emulator, and two at once (two test packages, or a test
	// running two functions) would collide.
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	if testing.Verbose() {
		cmd.Stdout = os.Stderr
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("awstest: start %s: %v", rie, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("awstest: the emulator did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &Lambda{URL: "http://" + addr + "/2015-03-31/functions/function/invocations"}
}

// Invoke sends one event (JSON) and returns the function's response body. A function error is
// returned as the response body too, as Lambda does; the caller inspects it.
func (l *Lambda) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("awstest: invoke: %s: %s", resp.Status, b)
	}
	return b, nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var (
	buildMu  sync.Mutex
	buildDir string
	builds   = map[string]string{} // package directory → built bootstrap
)

// BuildBootstrap builds the main package in pkg (a directory, relative to the test's) as a Lambda
// bootstrap for this machine — -tags lambda.norpc, CGO off, as scripts/build-lambdas.sh builds
// them for arm64 — once per test binary, and returns its path. Stop removes the builds.
func BuildBootstrap(t testing.TB, pkg string) string {
	t.Helper()
	abs, err := filepath.Abs(pkg)
	if err != nil {
		t.Fatal(err)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builds[abs]; ok {
		return p
	}
	if buildDir == "" {
		if buildDir, err = os.MkdirTemp("", "ctc-bootstrap-"); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(buildDir, fmt.Sprint(len(builds)), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("awstest: build the bootstrap of %s: %v\n%s", pkg, err, b)
	}
	builds[abs] = out
	return out
}

// removeBuilds deletes what BuildBootstrap built.
func removeBuilds() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
		buildDir = ""
		clear(builds)
	}
}
