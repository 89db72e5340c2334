package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilmon/vigil/test/syncbuf"
)

// The release the simulated agents run: the first-party plugin whose
// points they imitate (plugin=system), published by releasePublisher.
const (
	releasePlugin    = "system"
	releasePluginPkg = "github.com/vigilmon/vigil/plugins/system"
	releasePublisher = "vigil"
	// benchAgentVersion is the agent version the inventories report.
	benchAgentVersion = "bench-ingest"
	// inventoryConns is how many inventory reports are under way at once.
	inventoryConns = 8
	// probeWait bounds the wait for the probe to be answered by the
	// metrics store (forward: it has to reach InfluxDB first).
	probeWait = time.Minute
)

// release is what every phase publishes into its fresh registry, made
// once per run: the vigil binary that publishes, the signing key and the
// packaged release of releasePlugin for this platform.
type release struct {
	vigil   string // the vigil binary
	name    string
	version string
	key     string // the private signing key file
	dist    string // what `vigil plugin package` wrote
}

// prepareRelease builds vigil into work, reads the plugin's version from
// its source (pluginVersion, as scripts/run.sh does), makes a signing key
// and packages the release for this platform (the one the registry
// evaluates it on).
func prepareRelease(ctx context.Context, work string, log io.Writer) (*release, error) {
	vigil, err := buildBinary(ctx, work, "vigil", vigilPkg, log)
	if err != nil {
		return nil, err
	}
	dir, err := packageDir(ctx, releasePluginPkg)
	if err != nil {
		return nil, err
	}
	version, err := pluginVersion(dir)
	if err != nil {
		return nil, err
	}
	rel := &release{
		vigil: vigil, name: releasePlugin, version: version,
		key:  filepath.Join(work, "signing.key"),
		dist: filepath.Join(work, "dist", releasePlugin+"-"+version),
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	fmt.Fprintf(log, "packaging plugin %s %s for %s\n", rel.name, rel.version, platform)
	if _, err := runStep(ctx, log, "making the signing key", nil, false,
		vigil, "plugin", "keygen", "--out", rel.key); err != nil {
		return nil, err
	}
	if _, err := runStep(ctx, log, "packaging plugin "+rel.name, nil, false,
		vigil, "plugin", "package", dir, "--name", rel.name, "--version", rel.version,
		"--key", rel.key, "--out", rel.dist, "--platform", platform); err != nil {
		return nil, err
	}
	return rel, nil
}

// packageDir is the source directory of the Go package pkg.
func packageDir(ctx context.Context, pkg string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", pkg)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding the source of %s (run from the repository): %w: %s", pkg, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}

// pluginVersion is the string constant pluginVersion declared in the Go
// files of dir (tests left out).
func pluginVersion(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return "", fmt.Errorf("reading the plugin version: %w", err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if name.Name != "pluginVersion" {
						continue
					}
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							return strconv.Unquote(lit.Value)
						}
					}
					return "", fmt.Errorf("reading the plugin version: %s: pluginVersion is not a string literal", fset.Position(name.Pos()))
				}
			}
		}
	}
	return "", fmt.Errorf("reading the plugin version: no constant pluginVersion in %s", dir)
}

// runStep runs one step of the publication, the command name with args
// and env added to the environment, its output going to log. With
// secret, its standard output (which holds a secret) is returned and kept
// out of the log. A failure names the step and quotes the output.
func runStep(ctx context.Context, log io.Writer, step string, env []string, secret bool, name string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	var all syncbuf.Buffer
	out := io.MultiWriter(log, &all)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out // the same writer: written by one goroutine
	if secret {
		cmd.Stdout = &stdout
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: interrupted", step)
		}
		return nil, fmt.Errorf("%s: %w; its output:\n%s", step, err, all.String())
	}
	return stdout.Bytes(), nil
}

// publish gives reg an approved release of rel the way scripts/run.sh
// does, with the real command lines: a publisher token, its signing key
// registered, the plugin registered, the release published and evaluated
// (--wait), and approved by the admin.
func (rel *release) publish(ctx context.Context, c *http.Client, reg *registry, registryBin string, log io.Writer) error {
	pub, err := reg.token(ctx, c, "the publisher token", map[string]string{"role": "publisher", "publisher": releasePublisher})
	if err != nil {
		return err
	}
	if _, err := runStep(ctx, log, "adding the signing key", nil, false,
		rel.vigil, "plugin", "key", "add", releasePublisher, "--key", rel.key, "--registry", reg.url, "--token", pub); err != nil {
		return err
	}
	out, err := runStep(ctx, log, "registering plugin "+rel.name, nil, true,
		rel.vigil, "plugin", "register", rel.name, "--registry", reg.url, "--token", pub, "--format", "json")
	if err != nil {
		return err
	}
	var registered struct {
		PluginKey string `json:"plugin_key"`
	}
	if err := json.Unmarshal(out, &registered); err != nil || registered.PluginKey == "" {
		return fmt.Errorf("registering plugin %s: no plugin_key in its JSON output (%d bytes)", rel.name, len(out))
	}
	if _, err := runStep(ctx, log, "publishing "+rel.name+" "+rel.version, nil, false,
		rel.vigil, "plugin", "publish", rel.dist, "--registry", reg.url, "--plugin-key", registered.PluginKey, "--key", rel.key, "--wait"); err != nil {
		return err
	}
	env := []string{"VIGIL_REGISTRY_URL=" + reg.url, "VIGIL_REGISTRY_TOKEN=" + reg.admin}
	if _, err := runStep(ctx, log, "approving "+rel.name+" "+rel.version, env, false,
		registryBin, "approve", rel.name, rel.version, "--reason", "bench-ingest: the first-party plugin its simulated agents run"); err != nil {
		return err
	}
	return nil
}

// inventoryJSON is the body of PUT /v1/nodes/{node}/inventory
// (docs/api.md), as the agent's announcer sends it.
type inventoryJSON struct {
	AgentVersion string            `json:"agent_version"`
	Tags         map[string]string `json:"tags"`
	Plugins      []inventoryPlugin `json:"plugins"`
}

type inventoryPlugin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
}

// inventoryBody is the inventory of a simulated agent running version
// of plugin.
func inventoryBody(plugin, version string) []byte {
	b, _ := json.Marshal(inventoryJSON{ // cannot fail: strings only
		AgentVersion: benchAgentVersion,
		Tags:         map[string]string{},
		Plugins:      []inventoryPlugin{{Name: plugin, Version: version, State: "running"}},
	})
	return b
}

// reportInventories has each node report body as its inventory with its
// own agent token (tokens[i] is nodes[i]'s), over inventoryConns
// concurrent requests.
func reportInventories(ctx context.Context, c *http.Client, base string, nodes, tokens []string, body []byte) error {
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, inventoryConns)
	var wg sync.WaitGroup
	for i, node := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = putInventory(ctx, c, base, node, tokens[i], body)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func putInventory(ctx context.Context, c *http.Client, base, node, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/v1/nodes/"+url.PathEscape(node)+"/inventory", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("reporting the inventory of %s: %w", node, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("reporting the inventory of %s: %w", node, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("reporting the inventory of %s: %s %s", node, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// setupApproved makes the registry's steady state that of a real fleet
// before the clock starts: an approved release of the plugin the agents
// run, every agent's inventory reporting it, and a probe point of the
// first agent stored without the unapproved tag. It logs one line.
func (b *bench) setupApproved(ctx context.Context, c *http.Client, reg *registry, ep endpoint, phase string) error {
	start := time.Now()
	rel := b.release
	if err := rel.publish(ctx, c, reg, b.registry, b.log); err != nil {
		return err
	}
	nodes := b.nodes()
	if err := reportInventories(ctx, c, reg.url, nodes, ep.tokens, inventoryBody(rel.name, rel.version)); err != nil {
		return err
	}
	node := b.fleet.agents[0].node
	if err := probe(ctx, c, ep, node); err != nil {
		return err
	}
	if err := reg.checkProbe(ctx, c, node); err != nil {
		return err
	}
	fmt.Fprintf(b.log, "%s: plugin %s %s published and approved, %d agents report running it, the probe is stored unflagged (setup %.1fs)\n",
		phase, rel.name, rel.version, len(nodes), time.Since(start).Seconds())
	return nil
}

// checkProbe waits (at most probeWait) until the metrics store answers
// the probe point of node, and fails if it is flagged unapproved.
func (r *registry) checkProbe(ctx context.Context, c *http.Client, node string) error {
	q := url.Values{"node": {node}, "measurement": {"bench_probe"}, "field": {"ok"}, "from": {"-1h"}}
	deadline := time.Now().Add(probeWait)
	var last error
	for {
		body, err := r.get(ctx, c, "/v1/query/series?"+q.Encode())
		if err == nil {
			var stored bool
			stored, err = judgeProbe(body)
			if err != nil || stored {
				return err
			}
			err = errors.New("not stored yet")
		}
		last = err
		select {
		case <-ctx.Done():
			return errors.New("interrupted while checking the probe")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("checking the probe of %s: not answered by the query API within %s (last: %v)", node, probeWait, last)
		}
	}
}

// get is a GET of path as the admin; an answer other than 200 fails.
func (r *registry) get(ctx context.Context, c *http.Client, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+path, nil)
	if err != nil {
		return nil, fmt.Errorf("querying the registry: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.admin)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying the registry: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the registry's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// judgeProbe reads the query API's answer for the probe: whether it holds
// the probe, and an error if the probe was stored flagged unapproved.
func judgeProbe(body []byte) (stored bool, err error) {
	var ans struct {
		Series []struct {
			Tags map[string]string `json:"tags"`
		} `json:"series"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return false, fmt.Errorf("decoding the query API's answer: %w", err)
	}
	for _, s := range ans.Series {
		if v, ok := s.Tags["unapproved"]; ok {
			return true, fmt.Errorf("the probe is stored with unapproved=%s: ingest does not count plugin %s as an approved release run by the node", v, s.Tags["plugin"])
		}
	}
	return len(ans.Series) > 0, nil
}
