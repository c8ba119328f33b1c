package main

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The same binary gives the same digest, build after build; another binary or another date does
// not. The image is linux/arm64, runs /producer as non-root, and its one layer holds the binary.
func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	bin := []byte("\x7fELF pretend producer")
	digest := func(s Spec) string {
		img, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	spec := Spec{Binary: bin, Name: "producer", Arch: "arm64", Created: time.Unix(0, 0)}
	a, b := digest(spec), digest(spec)
	if a != b {
		t.Fatalf("two builds of one binary: %s and %s", a, b)
	}
	other := spec
	other.Binary = append(slices.Clone(bin), '!')
	later := spec
	later.Created = time.Unix(1_700_000_000, 0)
	if digest(other) == a || digest(later) == a {
		t.Error("another binary or another date gave the same digest")
	}

	img, _ := Build(spec)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "arm64" || cf.Config.User != nonRoot ||
		!slices.Equal(cf.Config.Entrypoint, []string{"/producer"}) || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("config %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(tr)
	if hdr.Name != "producer" || hdr.Mode != 0o555 || !bytes.Equal(got, bin) || !hdr.ModTime.Equal(time.Unix(0, 0)) {
		t.Errorf("layer entry %+v holding %q", hdr, got)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("the layer holds more than the binary: %v", err)
	}
	if _, err := Build(Spec{Binary: bin, Name: "producer", Arch: "s390x"}); err == nil {
		t.Error("an unknown arch was accepted")
	}
}

// The command writes a tarball that loads back with the same digest, and pushes to a registry
// (one on loopback that speaks the registry API) with the password from the environment only.
func TestRunOutAndPush(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "producer")
	if err := os.WriteFile(bin, []byte("\x7fELF pretend producer"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	var stdout bytes.Buffer
	if err := run([]string{"-binary", bin, "-out", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	printed := strings.TrimSpace(stdout.String())
	loaded, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := loaded.Digest(); d.String() != printed {
		t.Errorf("the tarball's image is %s, the command printed %s", d, printed)
	}

	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/coattail-producer:test"
	t.Setenv("CTC_REGISTRY_PASSWORD", "")
	if err := run([]string{"-binary", bin, "-push", ref}, io.Discard); err == nil || !strings.Contains(err.Error(), "CTC_REGISTRY_PASSWORD") {
		t.Errorf("push without a password: %v", err)
	}
	t.Setenv("CTC_REGISTRY_PASSWORD", "not-checked-by-the-test-registry")
	stdout.Reset()
	if err := run([]string{"-binary", bin, "-push", ref}, &stdout); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pulled.Digest(); d.String() != strings.TrimSpace(stdout.String()) || d.String() != printed {
		t.Errorf("pulled %s, pushed %s, built %s", d, stdout.String(), printed)
	}
}
