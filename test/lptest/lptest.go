package lptest

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// Point is one decoded line.
type Point struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any // float64, int64, uint64, string or bool
	Time        time.Time      // zero when the line has no timestamp
}

// Decode decodes every line of data; a malformed line fails t.
func Decode(t testing.TB, data []byte) []Point {
	t.Helper()
	pts, err := decode(data)
	if err != nil {
		t.Fatalf("lptest: %v", err)
	}
	return pts
}

// DecodeLoose is Decode for a file another process may be appending to:
// what follows the last newline is an unfinished line and is left out.
func DecodeLoose(t testing.TB, data []byte) []Point {
	t.Helper()
	return Decode(t, data[:bytes.LastIndexByte(data, '\n')+1])
}

// ReadLoose is DecodeLoose of the file at path; a file not written yet
// has no points.
func ReadLoose(t testing.TB, path string) []Point {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("lptest: %v", err)
	}
	return DecodeLoose(t, data)
}

func decode(data []byte) ([]Point, error) {
	dec := lineprotocol.NewDecoderWithBytes(data)
	var pts []Point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			return nil, err
		}
		p := Point{Measurement: string(m), Tags: map[string]string{}, Fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				return nil, err
			}
			if k == nil {
				break
			}
			p.Tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				return nil, err
			}
			if k == nil {
				break
			}
			p.Fields[string(k)] = v.Interface()
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if err != nil {
			return nil, err
		}
		p.Time = ts
		pts = append(pts, p)
	}
	return pts, nil
}

// Filter keeps the points of measurement that have every tag of tags.
func Filter(pts []Point, measurement string, tags map[string]string) []Point {
	var out []Point
next:
	for _, p := range pts {
		if p.Measurement != measurement {
			continue
		}
		for k, v := range tags {
			if p.Tags[k] != v {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}
