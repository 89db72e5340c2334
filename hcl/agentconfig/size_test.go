package agentconfig

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"4096", 4096},
		{"4096B", 4096},
		{"512MiB", 512 << 20},
		{"1GiB", 1 << 30},
		{"1.5GiB", 3 << 29},
		{"100MB", 100e6},
		{" 2 KiB ", 2048},
		{"", 0},
		{"MiB", 0},
		{"1 parsec", 0},
		{"1mib", 0}, // units are written as IEC and SI write them
		{"0", 0},
		{"1.2.3MB", 0},
		{"99999999TiB", 0},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
