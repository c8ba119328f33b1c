package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func client(t *testing.T, url string) *sts.Client {
	t.Helper()
	return sts.New(sts.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKEFAKE", "fake", ""),
	})
}

// TestGetCallerIdentity: the AWS SDK's own STS client (the one the provider uses, query protocol)
// gets the configured identity.
func TestGetCallerIdentity(t *testing.T) {
	h, err := newHandler("210987654321")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	out, err := client(t, srv.URL).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "210987654321" || !strings.HasPrefix(aws.ToString(out.Arn), "arn:aws:iam::210987654321:") || aws.ToString(out.UserId) == "" {
		t.Fatalf("identity = %q %q %q", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}

// TestOtherActionsFail: a plan that starts calling STS for anything else fails with an error that
// says why, instead of passing silently.
func TestOtherActionsFail(t *testing.T) {
	h, _ := newHandler("123456789012")
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, err := client(t, srv.URL).GetSessionToken(context.Background(), &sts.GetSessionTokenInput{})
	if err == nil || !strings.Contains(err.Error(), "only GetCallerIdentity") {
		t.Fatalf("GetSessionToken: err = %v, want the fakests refusal", err)
	}
}

// TestJSONProtocol: STS's AWS JSON 1.0 protocol is answered too.
func TestJSONProtocol(t *testing.T) {
	h, _ := newHandler("123456789012")
	for _, tc := range []struct{ target, want string }{
		{jsonTargetPrefix + "GetCallerIdentity", `"Account":"123456789012"`},
		{jsonTargetPrefix + "AssumeRole", `"__type":"InvalidAction"`},
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", tc.target)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: body %s, want %s", tc.target, rec.Body, tc.want)
		}
	}
}

func TestRefusesBadFlags(t *testing.T) {
	if _, err := newHandler("12345"); err == nil {
		t.Error("a 5-digit account id was accepted")
	}
	if err := run("0.0.0.0:0", "123456789012", ""); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a non-loopback address: err = %v", err)
	}
}
