package ingest

import (
	"net/http"
	"strings"
)

// ping is GET|HEAD /ping, as InfluxDB answers it: 204 with its version
// headers, which InfluxDB 1.x clients and Telegraf probe; with
// ?verbose=true, 200 and the version as JSON.
func (h *Handler) ping(w http.ResponseWriter, r *http.Request) {
	influxHeaders(w, h.cfg.Version)
	if v := r.URL.Query().Get("verbose"); v == "true" || v == "1" {
		writeJSON(w, http.StatusOK, map[string]string{"version": InfluxVersion})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// healthJSON is /health's answer, shaped like InfluxDB 2's.
type healthJSON struct {
	Name    string   `json:"name"`
	Message string   `json:"message"`
	Status  string   `json:"status"`
	Checks  []string `json:"checks"`
	Version string   `json:"version"`
}

// health is GET /health.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	influxHeaders(w, h.cfg.Version)
	writeJSON(w, http.StatusOK, healthJSON{
		Name: "vigil-registry", Message: "ready for queries and writes", Status: "pass",
		Checks: []string{}, Version: h.cfg.Version,
	})
}

// query is GET|POST /query. InfluxDB 1.x clients (Telegraf's influxdb
// output among them) send CREATE DATABASE before writing: it is answered
// as done, since the registry has one metrics store. Nothing else is
// answered: metrics are read through the registry's own query API.
func (h *Handler) query(w http.ResponseWriter, r *http.Request) {
	influxHeaders(w, h.cfg.Version)
	who, err := h.authenticate(r, influxV1)
	if err == nil {
		err = mayWrite(who)
	}
	if err != nil {
		h.fail(w, r, influxV1, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxInventoryBody)
	q := strings.TrimSpace(r.FormValue("q"))
	if f := strings.Fields(q); len(f) >= 3 && strings.EqualFold(f[0], "CREATE") && strings.EqualFold(f[1], "DATABASE") && !strings.Contains(q, ";") {
		writeJSON(w, http.StatusOK, map[string]any{"results": []map[string]int{{"statement_id": 0}}})
		return
	}
	influxV1.writeError(w, errorf(http.StatusBadRequest,
		"the registry answers only CREATE DATABASE on /query: it accepts writes on /write and serves its data through its own API"))
}
