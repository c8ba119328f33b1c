// Command image builds the producer's container image without a Docker engine: a scratch image
// with one layer holding the binary, for linux/arm64 (the ECS Fargate task's platform), run as a
// non-root user. It is reproducible: every timestamp is fixed (SOURCE_DATE_EPOCH, default 0), the
// layer's tar entries are fixed, so the same binary always gives the same image digest — build the
// binary reproducibly too (scripts/build-producer-image.sh does: CGO_ENABLED=0, -trimpath,
// -buildvcs=false, -buildid=). The producer carries its own root certificates
// (golang.org/x/crypto/x509roots/fallback), so the image needs no /etc/ssl.
//
//	go run ./deploy/image -binary build/producer-linux-arm64 -out build/producer-image.tar
//	go run ./deploy/image -binary build/producer-linux-arm64 -push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/coattail-producer:v1
//
// -out writes the image as a tarball that `docker load` and `crane push` take; -push sends it to
// a registry, with the password in CTC_REGISTRY_PASSWORD (for ECR: `aws ecr get-login-password`)
// and the user in CTC_REGISTRY_USER (default AWS) — never on the command line. It prints the
// image's digest, which the Terraform variable producer_image pins.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Spec says what goes in the image.
type Spec struct {
	// Binary is the program's bytes; it is /<Name> in the image and its entrypoint.
	Binary []byte
	Name   string
	// Arch is the GOARCH of the binary: arm64 or amd64.
	Arch string
	// Args are the entrypoint's default arguments (the task definition may replace them).
	Args []string
	// Created is every timestamp in the image.
	Created time.Time
}

// nonRoot is the user the program runs as (distroless's "nonroot").
const nonRoot = "65532:65532"

// Build returns the image of s.
func Build(s Spec) (v1.Image, error) {
	if len(s.Binary) == 0 || s.Name == "" {
		return nil, errors.New("image: a binary and its name are required")
	}
	if s.Arch != "arm64" && s.Arch != "amd64" {
		return nil, fmt.Errorf("image: arch %q: want arm64 or amd64", s.Arch)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: s.Name, Mode: 0o555, Size: int64(len(s.Binary)), ModTime: s.Created.UTC(),
		Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(s.Binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: s.Created.UTC()}, CreatedBy: "deploy/image: /" + s.Name,
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	cf.Created = v1.Time{Time: s.Created.UTC()}
	cf.Config.Entrypoint = []string{"/" + s.Name}
	cf.Config.Cmd = s.Args
	cf.Config.User = nonRoot
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "coattail " + s.Name}
	return mutate.ConfigFile(img, cf)
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	bin := fs.String("binary", "", "the program `file` (built for linux and -arch)")
	nm := fs.String("name", "producer", "its `name` in the image (/name is the entrypoint)")
	arch := fs.String("arch", "arm64", "the binary's `GOARCH`: arm64 (Fargate's Graviton) or amd64")
	out := fs.String("out", "", "write the image as a tarball to this `file`")
	push := fs.String("push", "", "push the image to this `reference` (registry/repository:tag)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" || (*out == "" && *push == "") {
		return errors.New("usage: image -binary FILE [-name NAME] [-arch arm64|amd64] (-out FILE | -push REF)")
	}
	b, err := os.ReadFile(*bin)
	if err != nil {
		return err
	}
	created := time.Unix(0, 0)
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", v)
		}
		created = time.Unix(secs, 0)
	}
	img, err := Build(Spec{Binary: b, Name: *nm, Arch: *arch, Created: created})
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if *out != "" {
		tag, err := name.NewTag("coattail/" + *nm + ":latest")
		if err != nil {
			return err
		}
		if err := tarball.WriteToFile(*out, tag, img); err != nil {
			return err
		}
	}
	if *push != "" {
		ref, err := name.ParseReference(*push)
		if err != nil {
			return err
		}
		pw := os.Getenv("CTC_REGISTRY_PASSWORD")
		if pw == "" {
			return errors.New("-push needs the registry password in CTC_REGISTRY_PASSWORD (for ECR: aws ecr get-login-password)")
		}
		user := os.Getenv("CTC_REGISTRY_USER")
		if user == "" {
			user = "AWS"
		}
		if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pw})); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
	}
	fmt.Fprintln(stdout, digest)
	return nil
}
