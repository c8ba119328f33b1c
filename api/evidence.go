package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
)

// ErrNoEvidence is what a Config.Evidence function returns when there is no report (yet): the API
// answers 404 and the dashboard hides its evidence panel.
var ErrNoEvidence = errors.New("api: no evidence report")

// maxEvidence bounds the report EvidenceFile serves: a report is a few kilobytes per alert type.
const maxEvidence = 8 << 20

// EvidenceFile returns a Config.Evidence that serves the report in the file at path, as
// adapters/evidence -out writes it (an evidence.Report in JSON), read at each request so that a
// new report shows without a restart. A missing file is ErrNoEvidence; a file that is not a JSON
// object, or is larger than 8 MiB, is an error.
func EvidenceFile(path string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoEvidence
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if st.Size() > maxEvidence {
			return nil, fmt.Errorf("api: evidence report %s is %d bytes, over the %d allowed", path, st.Size(), maxEvidence)
		}
		b := make([]byte, st.Size())
		if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
			return nil, fmt.Errorf("api: read evidence report %s: %w", path, err)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, fmt.Errorf("api: evidence report %s is not a JSON object: %w", path, err)
		}
		return b, nil
	}
}

var routeEvidence = &route{"/evidence", (*handler).serveEvidence}

// GET /evidence: the last evidence report (package evidence), as Config.Evidence gives it.
func (h *handler) serveEvidence(w http.ResponseWriter, r *http.Request, _ string) int {
	if code, ok := noParams(w, r); !ok {
		return code
	}
	if h.evidence == nil {
		return writeError(w, http.StatusNotFound, apiError{
			Message: "no evidence report: this server was started without one (api.Config.Evidence)",
		})
	}
	b, err := h.evidence(r.Context())
	if errors.Is(err, ErrNoEvidence) {
		return writeError(w, http.StatusNotFound, apiError{
			Message: "no evidence report yet: run adapters/evidence -out FILE over the warehouse",
		})
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "api: evidence report unavailable", "err", err)
		return writeError(w, http.StatusInternalServerError, apiError{
			Message: "internal error: the evidence report could not be read; the details are in the server log",
		})
	}
	return writeJSON(w, http.StatusOK, b)
}
