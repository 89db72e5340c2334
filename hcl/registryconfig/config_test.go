package registryconfig

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

var ignoreFiles = cmpopts.IgnoreFields(Config{}, "Files")

var defaultIngest = Ingest{
	MaxBody: DefaultMaxBody, MaxDecompressed: DefaultMaxDecompressed,
	DedupeWindow: DefaultDedupeWindow, Unapproved: UnapprovedFlag,
}

func TestParseValid(t *testing.T) {
	dir, err := filepath.Abs("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]*Config{
		"everything.hcl": {
			Listen: "0.0.0.0:8480", DataDir: "/var/lib/vigil-registry", ArtifactDir: filepath.Join(dir, "artifacts-disk"),
			Storage:    Storage{Kind: Postgres, DSN: "postgres://vigil@127.0.0.1:5432/vigil"},
			Evaluation: Evaluation{Timeout: 2 * time.Minute, MethodTimeout: 5 * time.Second, Workers: 2},
			Metrics: Metrics{
				Kind: InfluxDB, Dir: "/var/lib/vigil-registry/metrics", URL: "http://127.0.0.1:8086", Database: "vigil",
				Username: "vigil", Password: "secret", QueueMaxBytes: 2 << 30, DisableGzip: true,
			},
			Ingest: Ingest{MaxBody: 16 << 20, MaxDecompressed: 128 << 20, DedupeWindow: 48 * time.Hour, Unapproved: UnapprovedReject},
		},
		"sqlite.hcl": {
			Listen: DefaultListen, DataDir: filepath.Join(dir, "data"), ArtifactDir: filepath.Join(dir, "data", "artifacts"),
			Storage:    Storage{Kind: SQLite, Path: "/srv/catalog.db"},
			Evaluation: Evaluation{Timeout: DefaultTimeout, MethodTimeout: DefaultMethodTimeout, Workers: 1},
			Metrics:    Metrics{Kind: Embedded, Dir: filepath.Join(dir, "data", "metrics"), Retention: 30 * 24 * time.Hour},
			Ingest:     defaultIngest,
		},
		"empty.hcl": {
			Listen: DefaultListen, DataDir: DefaultDataDir, ArtifactDir: filepath.Join(DefaultDataDir, "artifacts"),
			Storage:    Storage{Kind: SQLite, Path: filepath.Join(DefaultDataDir, "registry.db")},
			Evaluation: Evaluation{Timeout: DefaultTimeout, MethodTimeout: DefaultMethodTimeout, Workers: 1},
			Metrics:    Metrics{Kind: Embedded, Dir: filepath.Join(DefaultDataDir, "metrics"), Retention: DefaultRetention},
			Ingest:     defaultIngest,
		},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			cfg, diags := Load(path)
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %s", diags.Error())
			}
			want.Filename = path
			if diff := cmp.Diff(want, cfg.WithDefaults(), ignoreFiles); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultsDoNotChangeTheOriginal(t *testing.T) {
	c := &Config{DataDir: "/d"}
	got := c.WithDefaults()
	if c.ArtifactDir != "" || got.ArtifactDir != "/d/artifacts" || got.Storage.Path != "/d/registry.db" {
		t.Errorf("original %+v, defaulted %+v", c, got)
	}
	if diff := cmp.Diff((&Config{}).WithDefaults(), Defaults(), ignoreFiles); diff != "" {
		t.Error(diff)
	}
}

// marker is one expected diagnostic: `# ERROR: <summary>` on the line its
// subject starts.
type marker struct {
	Line    int
	Summary string
}

var markerRe = regexp.MustCompile(`#\s*ERROR:\s*([^#]*[^#\s])`)

func TestParseErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var want []marker
			sc := bufio.NewScanner(bytes.NewReader(src))
			for line := 1; sc.Scan(); line++ {
				for _, m := range markerRe.FindAllStringSubmatch(sc.Text(), -1) {
					want = append(want, marker{line, m[1]})
				}
			}
			_, diags := Load(name)
			var got []marker
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename != name || d.Detail == "" || d.Severity != hcl.DiagError {
					t.Errorf("diagnostic %q lacks a subject in %s, a detail or error severity: %+v", d.Summary, name, d)
					continue
				}
				got = append(got, marker{d.Subject.Start.Line, d.Summary})
			}
			less := func(a, b marker) bool { return a.Line < b.Line || a.Line == b.Line && a.Summary < b.Summary }
			sort.Slice(want, func(i, j int) bool { return less(want[i], want[j]) })
			sort.Slice(got, func(i, j int) bool { return less(got[i], got[j]) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall: %s", diff, diags.Error())
			}
		})
	}
}

func TestSuggestions(t *testing.T) {
	_, diags := Load("testdata/errors/unknown.hcl")
	var details []string
	for _, d := range diags {
		details = append(details, d.Detail)
	}
	all := strings.Join(details, "\n")
	for _, want := range []string{`Did you mean "listen"?`, `Did you mean "sqlite"?`, `Did you mean "evaluation"?`, `Did you mean "flag"?`} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in details:\n%s", want, all)
		}
	}
	if !strings.Contains(diags.Error(), "unknown.hcl:2,1") {
		t.Errorf("diagnostics do not name file:line,col: %s", diags.Error())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if !diags.HasErrors() || diags[0].Summary != "Cannot read configuration file" {
		t.Errorf("diags = %v", diags)
	}
}

func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/valid/*.hcl", "testdata/errors/*.hcl"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "registry.hcl")
		if cfg == nil {
			t.Fatal("nil config")
		}
		if !diags.HasErrors() {
			d := cfg.WithDefaults()
			if d.Storage.Kind != SQLite && d.Storage.Kind != Postgres {
				t.Errorf("storage kind %q", d.Storage.Kind)
			}
		}
	})
}
