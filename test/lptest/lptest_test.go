package lptest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Point
	}{
		{"empty", "", nil},
		{"one line with every kind of field",
			"cpu,host=a,cpu=0 user=1.5,n=3i,u=4u,s=\"x y\",ok=true 1700000000000000000\n",
			[]Point{{Measurement: "cpu", Tags: map[string]string{"host": "a", "cpu": "0"},
				Fields: map[string]any{"user": 1.5, "n": int64(3), "u": uint64(4), "s": "x y", "ok": true},
				Time:   time.Unix(0, 1700000000000000000)}}},
		{"no tags, no timestamp, no final newline", "up v=1",
			[]Point{{Measurement: "up", Tags: map[string]string{}, Fields: map[string]any{"v": 1.0}}}},
		{"two lines", "a v=1 1\nb v=2 2\n",
			[]Point{
				{Measurement: "a", Tags: map[string]string{}, Fields: map[string]any{"v": 1.0}, Time: time.Unix(0, 1)},
				{Measurement: "b", Tags: map[string]string{}, Fields: map[string]any{"v": 2.0}, Time: time.Unix(0, 2)},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, Decode(t, []byte(c.in))); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, in := range []string{"cpu\n", "cpu v=\n", "cpu v=1 notatime\n", "cpu,host v=1\n"} {
		if _, err := decode([]byte(in)); err == nil {
			t.Errorf("decode(%q) succeeded", in)
		}
	}
}

func TestDecodeLooseLeavesOutTheUnfinishedLine(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // measurements
	}{
		{"complete", "a v=1\nb v=2\n", []string{"a", "b"}},
		{"mid-line", "a v=1\nb v=", []string{"a"}},
		{"first line unfinished", "a v=1", nil},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, p := range DecodeLoose(t, []byte(c.in)) {
				got = append(got, p.Measurement)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("DecodeLoose (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadLoose(t *testing.T) {
	dir := t.TempDir()
	if pts := ReadLoose(t, filepath.Join(dir, "absent.lp")); pts != nil {
		t.Errorf("missing file: %v, want no points", pts)
	}
	path := filepath.Join(dir, "points.lp")
	if err := os.WriteFile(path, []byte("a v=1\nb v="), 0o644); err != nil {
		t.Fatal(err)
	}
	if pts := ReadLoose(t, path); len(pts) != 1 || pts[0].Measurement != "a" {
		t.Errorf("ReadLoose = %+v, want the one finished line", pts)
	}
}

func TestFilter(t *testing.T) {
	pts := []Point{
		{Measurement: "cpu", Tags: map[string]string{"host": "a", "cpu": "0"}},
		{Measurement: "cpu", Tags: map[string]string{"host": "b", "cpu": "0"}},
		{Measurement: "mem", Tags: map[string]string{"host": "a"}},
	}
	cases := []struct {
		name        string
		measurement string
		tags        map[string]string
		want        []Point
	}{
		{"measurement only", "cpu", nil, pts[:2]},
		{"one tag", "cpu", map[string]string{"host": "b"}, pts[1:2]},
		{"every tag must match", "cpu", map[string]string{"host": "a", "cpu": "1"}, nil},
		{"other measurement", "mem", map[string]string{"host": "a"}, pts[2:]},
		{"none", "disk", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, Filter(pts, c.measurement, c.tags)); diff != "" {
				t.Errorf("Filter (-want +got):\n%s", diff)
			}
		})
	}
}
