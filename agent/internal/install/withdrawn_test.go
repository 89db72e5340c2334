package install

import (
	"context"
	"errors"
	"testing"

	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
)

// A withdrawn release is installed only when asked for by its exact
// version with AllowWithdrawn; asked for exactly without it, the refusal
// says it was withdrawn and how to install it anyway.
func TestFromRegistryWithdrawn(t *testing.T) {
	f := newFixture(t)
	r := registrytest.Build(t, counter(t), "counter", "0.1.0", here, f.priv)
	r.Withdrawn = true
	f.srv.Add(r)
	for _, tc := range []struct {
		name, constraints string
		allow             bool
		is                error
		want              string
	}{
		{"exact", "0.1.0", false, ErrWithdrawn,
			"counter 0.1.0 was withdrawn from the registry; to install it anyway, ask for exactly this version with --allow-withdrawn"},
		{"newest", "", false, nil, "counter has no installable versions"},
		{"constraint", "~> 0.1", false, nil, "counter has no installable versions"},
		{"allowed but not exact", "~> 0.1", true, nil, `a withdrawn release is installed only when asked for by its exact version, not "~> 0.1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := f.request(tc.constraints)
			req.AllowWithdrawn = tc.allow
			_, err := FromRegistry(context.Background(), f.client, req)
			if err == nil || err.Error() != tc.want || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if files := f.files(t); len(files) > 0 {
				t.Errorf("a refused install left %v", files)
			}
		})
	}
	req := f.request("0.1.0")
	req.AllowWithdrawn = true
	res, err := FromRegistry(context.Background(), f.client, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Withdrawn || res.Version != "0.1.0" {
		t.Errorf("result %+v, want 0.1.0 marked withdrawn", res)
	}
}
