package logflag

import (
	"bytes"
	"encoding/json"
	"flag"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := Register(fs)
	if err := fs.Parse([]string{"-log-level", "warn", "-log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	log, err := f.New(&b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "n", 3)
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil || v["msg"] != "shown" || v["level"] != "WARN" || v["n"] != 3.0 {
		t.Fatalf("%q: %v", b.String(), err)
	}
	for _, bad := range []Flags{{Level: "loud", Format: "text"}, {Level: "info", Format: "xml"}} {
		if _, err := bad.New(&b); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
