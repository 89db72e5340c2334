package procfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Stat
		wantErr bool
	}{
		{
			name: "plain",
			in:   "4242 (vigil) S 1 4242 4242 0 -1 4194560 2137 0 0 0 153 47 0 0 20 0 9 0 1234 1000000 3000 18446744073709551615\n",
			want: Stat{PPID: 1, Ticks: 200},
		},
		{
			name: "command with spaces and parentheses",
			in:   "77 (a (b) c) R 4242 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n",
			want: Stat{PPID: 4242, Ticks: 11},
		},
		{name: "no parenthesis", in: "77 vigil S 1", wantErr: true},
		{name: "truncated", in: "77 (vigil) S 1 2 3", wantErr: true},
		{name: "bad utime", in: "77 (v) S 1 77 77 0 -1 0 0 0 0 0 x 6 0\n", wantErr: true},
		{name: "bad stime", in: "77 (v) S 1 77 77 0 -1 0 0 0 0 0 5 y 0\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Mem
		wantErr bool
	}{
		{
			name: "process",
			in:   "Name:\tvigil\nVmPeak:\t 1300 kB\nVmRSS:\t   15872 kB\nRssAnon:\t    5000 kB\nRssFile:\t   10872 kB\nRssShmem:\t 0 kB\n",
			want: Mem{RSS: 15872, Anon: 5000, File: 10872},
		},
		{name: "kernel thread", in: "Name:\tkthreadd\nState:\tS (sleeping)\n", wantErr: true},
		{name: "no split", in: "VmRSS:\t 3 kB\n", wantErr: true},
		{name: "other unit", in: "VmRSS:\t 3 MB\nRssAnon:\t 1 kB\nRssFile:\t 2 kB\n", wantErr: true},
		{name: "not a number", in: "VmRSS:\t x kB\nRssAnon:\t 1 kB\nRssFile:\t 2 kB\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMem([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFS(t *testing.T) {
	root := t.TempDir()
	for pid, stat := range map[string]string{
		"10": "10 (agent) S 1 0 0 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1\n",
		"11": "11 (plugin) S 10 0 0 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1\n",
		"12": "12 (other) S 1 0 0 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1\n",
	} {
		dir := filepath.Join(root, pid)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
		status := "VmRSS:\t 300 kB\nRssAnon:\t 100 kB\nRssFile:\t 200 kB\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "uptime"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := FS{Root: root}
	if st, err := p.Stat(10); err != nil || st != (Stat{PPID: 1, Ticks: 10}) {
		t.Errorf("Stat(10) = %+v, %v", st, err)
	}
	if m, err := p.Mem(11); err != nil || m != (Mem{RSS: 300, Anon: 100, File: 200}) {
		t.Errorf("Mem(11) = %+v, %v", m, err)
	}
	kids, err := p.Children(1)
	slices.Sort(kids)
	if err != nil || !slices.Equal(kids, []int{10, 12}) {
		t.Errorf("Children(1) = %v, %v", kids, err)
	}
	if _, err := p.Stat(99); err == nil {
		t.Error("Stat of a missing process: no error")
	}
}
