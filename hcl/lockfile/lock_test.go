package lockfile

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the golden .after.hcl files")

const (
	hashA = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
	hashB = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
	hashC = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
	hashD = "sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
	hashE = "sha256:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"
	hash1 = "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
	hash2 = "sha256:d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
)

func mustParse(t *testing.T, src []byte, name string) *Lock {
	t.Helper()
	l, diags := Parse(src, name)
	if len(diags) > 0 {
		t.Fatalf("parsing %s: %s", name, diags.Error())
	}
	return l
}

func entries(l *Lock) map[string]Entry {
	out := map[string]Entry{}
	for _, n := range l.Names() {
		e, _ := l.Plugin(n)
		out[n] = *e
	}
	return out
}

func TestParse(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	l := mustParse(t, src, "full.hcl")
	want := map[string]Entry{
		"system": {
			Name: "system", Version: "0.1.0", Source: "https://registry.example.net",
			Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA, Archive: hashB}, "linux_arm64": {Binary: hashC}},
		},
		"process": {
			Name: "process", Version: "0.2.0", Source: "local",
			Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashD}},
		},
		"docker": {
			Name: "docker", Version: "1.0.0",
			Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashE}},
		},
	}
	if diff := cmp.Diff(want, entries(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"docker", "process", "system"}, l.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if _, ok := l.Plugin("nope"); ok {
		t.Error("Plugin(nope) found something")
	}
}

// TestPluginReturnsCopy checks that changing a returned entry does not
// change the lock.
func TestPluginReturnsCopy(t *testing.T) {
	l := New()
	l.Set(Entry{Name: "a", Version: "1.0.0", Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA}}})
	e, _ := l.Plugin("a")
	e.Platforms["linux_amd64"] = PlatformHashes{Binary: hashB}
	e.Version = "9.9.9"
	again, _ := l.Plugin("a")
	if again.Version != "1.0.0" || again.Platforms["linux_amd64"].Binary != hashA {
		t.Errorf("lock changed through a returned entry: %+v", again)
	}
}

func TestValidFilesRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.hcl")
	if len(files) == 0 {
		t.Fatal("no valid files")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			l := mustParse(t, src, name)
			if diff := cmp.Diff(string(src), string(l.Bytes())); diff != "" {
				t.Errorf("Parse then Bytes changed the file (-want +got):\n%s", diff)
			}
		})
	}
}

// roundTrips are edits applied to testdata/roundtrip/<name>.before.hcl
// (or to New() when it does not exist), compared with <name>.after.hcl.
var roundTrips = []struct {
	name string
	edit func(l *Lock)
	want []string // Names() after the edit
}{
	{
		name: "edit",
		edit: func(l *Lock) {
			l.Set(Entry{
				Name: "system", Version: "0.2.0", Constraints: "~> 0.2", Source: "https://registry.example.net",
				SigningKey: "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
				Platforms:  map[string]PlatformHashes{"linux_amd64": {Binary: hash1, Archive: hash2}},
			})
			if !l.Remove("docker") {
				panic("docker was not removed")
			}
			l.Set(Entry{
				Name: "http", Version: "1.0.0", Source: "https://registry.example.net",
				Platforms: map[string]PlatformHashes{"linux_arm64": {Binary: hashA}, "linux_amd64": {Binary: hashB, Archive: hashC}},
			})
		},
		want: []string{"http", "process", "system"},
	},
	{
		name: "messy",
		edit: func(l *Lock) {
			e, _ := l.Plugin("system")
			e.Platforms["darwin_arm64"] = PlatformHashes{Binary: hashD}
			e.Source = SourceLocal
			l.Set(*e)
		},
		want: []string{"system"},
	},
	{
		name: "new",
		edit: func(l *Lock) {
			l.Set(Entry{Name: "system", Version: "0.1.0", Source: SourceLocal, Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA}}})
			l.Set(Entry{Name: "process", Version: "0.1.0", Source: SourceLocal})
		},
		want: []string{"process", "system"},
	},
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTrips {
		t.Run(tt.name, func(t *testing.T) {
			before := filepath.Join("testdata/roundtrip", tt.name+".before.hcl")
			afterFile := filepath.Join("testdata/roundtrip", tt.name+".after.hcl")
			l, diags := Load(before)
			if len(diags) > 0 {
				t.Fatalf("loading: %s", diags.Error())
			}
			tt.edit(l)
			got := l.Bytes()
			if *update {
				if err := os.WriteFile(afterFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(afterFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", afterFile, diff)
			}
			if diff := cmp.Diff(tt.want, l.Names()); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			// What was written reads back as what the lock holds.
			again := mustParse(t, got, afterFile)
			if diff := cmp.Diff(entries(l), entries(again)); diff != "" {
				t.Errorf("re-parsed entries (-lock +file):\n%s", diff)
			}
		})
	}
}

// TestRoundTripKeepsComments checks, independently of the golden files,
// that the comments of untouched and edited blocks survive an edit and
// that a removed block's leading comment goes with it.
func TestRoundTripKeepsComments(t *testing.T) {
	src, err := os.ReadFile("testdata/roundtrip/edit.before.hcl")
	if err != nil {
		t.Fatal(err)
	}
	l := mustParse(t, src, "edit.before.hcl")
	roundTrips[0].edit(l)
	out := string(l.Bytes())
	for _, c := range []string{
		"# This file is maintained by vigil install.", "# system: pinned by ops, see TICKET-12",
		"# bumped by hand", "# amd64 servers", "# process plugin built locally", "# end of file",
	} {
		if !strings.Contains(out, c) {
			t.Errorf("comment %q lost:\n%s", c, out)
		}
	}
	if strings.Contains(out, "docker") {
		t.Errorf("removed plugin still present:\n%s", out)
	}
	if strings.Contains(out, "\n\n\n") {
		t.Errorf("two blank lines in a row:\n%s", out)
	}
}

// TestSetUnchangedKeepsFile checks that recording what is already
// recorded changes nothing.
func TestSetUnchangedKeepsFile(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.hcl")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		l, diags := Parse(src, name)
		if l == nil || diags.HasErrors() {
			continue
		}
		before := l.Bytes()
		for _, n := range l.Names() {
			e, _ := l.Plugin(n)
			l.Set(*e)
		}
		if diff := cmp.Diff(string(before), string(l.Bytes())); diff != "" {
			t.Errorf("%s: Set of unchanged entries changed the file (-before +after):\n%s", name, diff)
		}
	}
}

// TestSetBlockWithoutAttributes edits a block that has platforms but no
// attribute (a hand-broken file): attributes go above the platforms.
func TestSetBlockWithoutAttributes(t *testing.T) {
	src := "# keep me\nplugin \"a\" {\n  platform \"linux_amd64\" {\n    binary = \"" + hashA + "\"\n  }\n}\n"
	l, diags := Parse([]byte(src), "lock.hcl")
	if l == nil || len(diags) != 1 || diags[0].Summary != "Missing required argument" {
		t.Fatalf("got %v, %v", l, diags)
	}
	l.Set(Entry{Name: "a", Version: "1.0.0", Source: SourceLocal, Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashB}}})
	want := "# keep me\nplugin \"a\" {\n  version = \"1.0.0\"\n  source  = \"local\"\n\n  platform \"linux_amd64\" {\n    binary = \"" + hashB + "\"\n  }\n}\n"
	if diff := cmp.Diff(want, string(l.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRemoveMissing(t *testing.T) {
	l := New()
	if l.Remove("nope") {
		t.Error("Remove of a missing plugin returned true")
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	l, diags := Load(filepath.Join(t.TempDir(), "vigil.lock.hcl"))
	if len(diags) > 0 || l == nil {
		t.Fatalf("got %v, %v", l, diags)
	}
	if len(l.Names()) != 0 {
		t.Errorf("names = %v", l.Names())
	}
	if diff := cmp.Diff(Header, string(l.Bytes())); diff != "" {
		t.Errorf("empty lock (-want +got):\n%s", diff)
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.lock.hcl")
	l := New()
	l.Set(Entry{Name: "system", Version: "0.1.0", Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA}}})
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(l.Bytes()), string(got)); diff != "" {
		t.Errorf("saved file (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// An invalid entry is refused and the file is left as it was.
	l.Set(Entry{Name: "bad", Version: "1.0.0", Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: "sha256:abc"}}})
	if err := l.Save(path); err == nil || !strings.Contains(err.Error(), `plugin "bad"`) {
		t.Errorf("Save with a bad hash: err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, got) {
		t.Error("a refused Save changed the file")
	}
}

func TestHashFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, []byte("a"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != hashA {
		t.Errorf("HashFile = %s, want %s", got, hashA)
	}
	if !ValidHash(got) {
		t.Error("HashFile's result is not a valid hash")
	}
	if _, err := HashFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("HashFile of a missing file did not fail")
	}
}

func TestEntryValidate(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want []string // fragments of the error, in order; nil for valid
	}{
		{name: "valid", e: Entry{Name: "a", Version: "1.0.0", Source: "local", SigningKey: "ed25519:k",
			Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA, Archive: hashB}}}},
		{name: "everything wrong", e: Entry{Name: "A", Version: "1", Source: "ftp://x", SigningKey: "k",
			Platforms: map[string]PlatformHashes{"linux": {Binary: "", Archive: "sha256:XYZ"}}},
			want: []string{"name:", "version:", "source:", "signing_key:", "platform:", "linux binary:", "linux archive:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			var got []string
			if err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					_, rest, _ := strings.Cut(line, ": ")
					field, _, _ := strings.Cut(rest, ": ")
					got = append(got, field+":")
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
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
	files, _ := filepath.Glob("testdata/errors/*.hcl")
	if len(files) == 0 {
		t.Fatal("no error files")
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
			l, diags := Parse(src, name)
			if l == nil {
				t.Fatalf("nil lock: %s", diags.Error())
			}
			var got []marker
			for _, d := range diags {
				if d.Subject == nil || d.Detail == "" {
					t.Errorf("diagnostic without subject or detail: %s", d.Error())
					continue
				}
				got = append(got, marker{d.Subject.Start.Line, d.Summary})
			}
			for _, ms := range [][]marker{want, got} {
				sort.Slice(ms, func(i, j int) bool {
					return ms[i].Line < ms[j].Line || ms[i].Line == ms[j].Line && ms[i].Summary < ms[j].Summary
				})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", diff, diags.Error())
			}
		})
	}
}

func TestParseRefusesComputedValues(t *testing.T) {
	tests := map[string]string{
		"heredoc":       "plugin \"a\" {\n  version = <<EOT\n1.0.0\nEOT\n}\n",
		"interpolation": "plugin \"a\" {\n  version = \"${\"1.0.0\"}\"\n}\n",
		"huge number":   "plugin \"a\" {\n  version = 1e999999999\n}\n",
		"variable":      "plugin \"a\" {\n  version = v\n}\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			l, diags := Parse([]byte(src), "lock.hcl")
			var summaries []string
			for _, d := range diags {
				summaries = append(summaries, d.Summary)
			}
			if diff := cmp.Diff([]string{"Invalid value"}, summaries); diff != "" {
				t.Errorf("summaries (-want +got):\n%s", diff)
			}
			if l == nil || len(l.Names()) != 0 {
				t.Errorf("the invalid entry was kept")
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	l, diags := Parse([]byte("plugin \"a\" {\n"), "lock.hcl")
	if l != nil || !diags.HasErrors() {
		t.Fatalf("got %v, %v", l, diags)
	}
	var d *hcl.Diagnostic = diags[0]
	if d.Subject == nil || d.Subject.Filename != "lock.hcl" {
		t.Errorf("subject = %v", d.Subject)
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.hcl", "testdata/errors/*.hcl", "testdata/roundtrip/*.hcl"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l, diags := Parse(src, "fuzz.hcl")
		if l == nil {
			if !diags.HasErrors() {
				t.Fatal("nil lock without errors")
			}
			return
		}
		if diags.HasErrors() {
			return
		}
		// Recording what is recorded changes nothing.
		before := l.Bytes()
		for _, n := range l.Names() {
			e, _ := l.Plugin(n)
			l.Set(*e)
		}
		if after := l.Bytes(); !bytes.Equal(before, after) {
			t.Fatalf("Set of unchanged entries changed the file:\n%s\n---\n%s", before, after)
		}
		// A valid lock survives an edit and reads back as what it holds.
		l.Set(Entry{Name: "fuzz", Version: "1.0.0", Platforms: map[string]PlatformHashes{"linux_amd64": {Binary: hashA}}})
		out := l.Bytes()
		again, diags := Parse(out, "again.hcl")
		if diags.HasErrors() {
			t.Fatalf("edited lock does not parse: %s\n%s", diags.Error(), out)
		}
		if diff := cmp.Diff(entries(l), entries(again)); diff != "" {
			t.Fatalf("entries changed (-lock +file):\n%s\n%s", diff, out)
		}
	})
}
