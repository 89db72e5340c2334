package ingest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// admittingStore is a metrics store that can refuse writes up front, as
// the influx store does while its queue is full.
type admittingStore struct {
	recordingStore
	refuse error
}

func (s *admittingStore) Admit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuse
}

// countingBody counts the bytes read from it.
type countingBody struct {
	*bytes.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestAdmitRefusesBeforeReading: while the store says it would refuse a
// write, the request is answered 503 with the store's Retry-After without
// its body being read or decoded; once it admits again, writes are stored.
func TestAdmitRefusesBeforeReading(t *testing.T) {
	ms := &admittingStore{refuse: overloaded{}}
	f := newFixture(t, Config{Metrics: ms})
	post := func() (*httptest.ResponseRecorder, *countingBody) {
		body := &countingBody{Reader: bytes.NewReader([]byte("cpu,node=web-1 v=1 1777636800000000000\n"))}
		req := httptest.NewRequest("POST", "/v1/write", nil)
		req.Body = body
		req.Header.Set("Authorization", "Bearer "+f.tokens["agent"])
		req.Header.Set(BatchIDHeader, "b-1")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec, body
	}
	rec, body := post()
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "3" {
		t.Errorf("answer while the store refuses: %d, Retry-After %q; want 503 and 3", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body.read != 0 || len(ms.got()) != 0 {
		t.Errorf("refused up front, yet %d bytes of the body were read and %d points stored", body.read, len(ms.got()))
	}
	ms.mu.Lock()
	ms.refuse = nil
	ms.mu.Unlock()
	if rec, _ := post(); rec.Code != http.StatusNoContent || len(ms.got()) != 1 {
		t.Errorf("once admitted: %d %s, %d points stored; want 204 and 1 (the batch id was not spent by the refusal)", rec.Code, rec.Body, len(ms.got()))
	}
}
