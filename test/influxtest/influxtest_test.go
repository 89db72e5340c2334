package influxtest

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"testing"
)

func TestRunStop(t *testing.T) {
	if _, err := exec.LookPath("influxd"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("influxd is not installed; .ci/run installs Debian's influxdb package")
		}
		t.Skip("influxd not installed; skipping outside CI")
	}
	var log bytes.Buffer
	srv, err := Run(t.TempDir(), &log)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	resp, err := http.Get(srv.URL + "/ping")
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("ping: %s, want 204", resp.Status)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := http.Get(srv.URL + "/ping"); err == nil {
		t.Errorf("influxd still answers after Stop")
	}
}

func TestStart(t *testing.T) {
	base := Start(t)
	Query(t, base, "", "CREATE DATABASE influxtest")
	got := Query(t, base, "", "SHOW DATABASES")
	if !bytes.Contains([]byte(got), []byte(`"influxtest"`)) {
		t.Errorf("SHOW DATABASES = %s, want influxtest listed", got)
	}
}
