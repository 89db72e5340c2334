package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// ifaceStat is one interface line of /proc/net/dev: 8 receive counters
// then 8 transmit counters.
type ifaceStat struct {
	name     string
	counters [16]uint64
}

// Columns of ifaceStat.counters used here.
const (
	nRxBytes   = 0
	nRxPackets = 1
	nRxErrs    = 2
	nRxDrop    = 3
	nTxBytes   = 8
	nTxPackets = 9
	nTxErrs    = 10
	nTxDrop    = 11
)

// parseNetDev parses /proc/net/dev; the two header lines and malformed
// lines are skipped.
func parseNetDev(data []byte) []ifaceStat {
	var out []ifaceStat
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		s := ifaceStat{name: strings.TrimSpace(name)}
		for i := range s.counters {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				ok = false
				break
			}
			s.counters[i] = v
		}
		if ok && s.name != "" {
			out = append(out, s)
		}
	}
	return out
}

// netCollector reports interface counters (measurement net).
type netCollector struct {
	root       string
	interfaces nameFilter // net_interfaces; empty: all but lo
}

var _ sdk.Gatherer = (*netCollector)(nil)

func newNet(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	ifaces, err := newNameFilter(cfg, "net_interfaces", func(name string) bool { return name != "lo" })
	if err != nil {
		return nil, err
	}
	return &netCollector{root: root, interfaces: ifaces}, nil
}

func netFields(s ifaceStat) map[string]any {
	c := s.counters
	return map[string]any{
		"bytes_recv":   int64(c[nRxBytes]),
		"bytes_sent":   int64(c[nTxBytes]),
		"packets_recv": int64(c[nRxPackets]),
		"packets_sent": int64(c[nTxPackets]),
		"err_in":       int64(c[nRxErrs]),
		"err_out":      int64(c[nTxErrs]),
		"drop_in":      int64(c[nRxDrop]),
		"drop_out":     int64(c[nTxDrop]),
	}
}

func (c *netCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("net", err)
	}
	data, err := os.ReadFile(filepath.Join(c.root, "net", "dev"))
	if err != nil {
		return fmt.Errorf("reading interface counters: %w", err)
	}
	for _, s := range parseNetDev(data) {
		if c.interfaces.match(s.name) {
			acc.AddFields("net", map[string]string{"interface": s.name}, netFields(s), acc.Time())
		}
	}
	return nil
}
