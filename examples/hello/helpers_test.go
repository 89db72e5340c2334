package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNow is the time unit tests pretend it is.
var testNow = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// fixture is a file to create: its name, size and age at testNow.
type fixture struct {
	name string
	size int
	age  time.Duration
}

// makeFiles creates the fixtures in a new directory, their modification
// times set to testNow minus their age, and returns the directory.
func makeFiles(t *testing.T, fs ...fixture) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range fs {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, make([]byte, f.size), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := testNow.Add(-f.age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
