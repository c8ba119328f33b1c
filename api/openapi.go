package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's contract: an OpenAPI 3.1 document of every endpoint, parameter, status and
// field, served at /openapi.json. TestOpenAPI checks the handler's answers against it.
//
//go:embed openapi.json
var OpenAPI []byte

// GET /openapi.json
func (h *handler) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ string) int {
	if code, ok := noParams(w, r); !ok {
		return code
	}
	return writeJSON(w, http.StatusOK, OpenAPI)
}
