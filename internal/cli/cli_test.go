package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type fake struct{ name string }

func (f fake) Synopsis() string { return "does " + f.name }
func (f fake) Help() string     { return "Usage: p " + f.name }
func (f fake) Run(_ context.Context, args []string) int {
	if len(args) > 0 && args[0] == "fail" {
		return ExitFailure
	}
	return ExitOK + 40 + len(args)
}

func TestDispatch(t *testing.T) {
	table := map[string]Command{"config": fake{"config"}, "config validate": fake{"config validate"}}
	cases := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"longest name wins", []string{"config", "validate", "x"}, 41, "", ""},
		{"one word", []string{"config", "a", "b"}, 42, "", ""},
		{"help after a name", []string{"config", "validate", "--help"}, 0, "Usage: p config validate\n", ""},
		{"help before a name", []string{"help", "config", "validate"}, 0, "Usage: p config validate\n", ""},
		{"failure passes through", []string{"config", "fail"}, 1, "", ""},
		{"usage", nil, 0, Usage("p", table), ""},
		{"unknown", []string{"nope"}, 2, "", "p: unknown command \"nope\"\n\n" + Usage("p", table)},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := Dispatch(context.Background(), "p", table, &stdout, &stderr, c.args)
		if code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
			t.Errorf("%s: code %d stdout %q stderr %q", c.name, code, stdout.String(), stderr.String())
		}
	}
	want := "Usage: p <command> [arguments]\n\nCommands:\n  config           does config\n  config validate  does config validate\n\nRun `p <command> --help` for a command's arguments.\n"
	if d := cmp.Diff(want, Usage("p", table)); d != "" {
		t.Errorf("usage (-want +got):\n%s", d)
	}
	if Format("yaml").Valid() == nil || Format("json").Valid() != nil {
		t.Error("Format.Valid")
	}
}
