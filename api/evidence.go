package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
)

// ErrNoEvidence is what a Config.Evidence function returns when there is no report (yet): the API
// answers 404 and the dashboard hides its evidence panel.
var ErrNoEvidence = errors.New("api: no evidence report")

// maxEvidence bounds the report EvidenceFile and EvidenceReader serve: a report is a few kilobytes
// per alert type.
const maxEvidence = 8 << 20

// EvidenceFile returns a Config.Evidence that serves the report in the file at path, as
// adapters/evidence -out writes it (an evidence.Report in JSON), read at each request so that a
// new report shows without a restart. A missing file is ErrNoEvidence; a file that is not a JSON
// object, or is larger than 8 MiB, is an error.
func EvidenceFile(path string) func(context.Context) ([]byte, error) {
	return EvidenceReader(path, func(context.Context) (io.ReadCloser, error) { return os.Open(path) })
}

// EvidenceReader returns a Config.Evidence that serves the report open returns, opened and read
// at each request: EvidenceFile for a report kept elsewhere, such as an S3 object (the API
// Lambda's CTC_EVIDENCE_URI, read with awsenv.S3Object.Open). An error of open that is
// fs.ErrNotExist (errors.Is) is ErrNoEvidence; a report that is not a JSON object, or is larger
// than 8 MiB, is an error, and so is any other error of open or of reading. name names the report
// in errors.
func EvidenceReader(name string, open func(context.Context) (io.ReadCloser, error)) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		r, err := open(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoEvidence
		}
		if err != nil {
			return nil, err
		}
		defer r.Close()
		// One byte past the bound tells a report over it from one exactly at it, without reading
		// the rest.
		b, err := io.ReadAll(io.LimitReader(r, maxEvidence+1))
		if err != nil {
			return nil, fmt.Errorf("api: read evidence report %s: %w", name, err)
		}
		if len(b) > maxEvidence {
			return nil, fmt.Errorf("api: evidence report %s is over the %d bytes allowed", name, maxEvidence)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, fmt.Errorf("api: evidence report %s is not a JSON object: %w", name, err)
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
			Message: "no evidence report yet: run adapters/evidence -out FILE over the warehouse (on AWS: the batch workflow's evidence step)",
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
