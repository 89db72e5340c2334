package main

import (
	"testing"

	"github.com/vigilmon/vigil/sdk/metric"
)

func netPoint(iface string, brecv, bsent, precv, psent, errIn, errOut, dropIn, dropOut int64) metric.Point {
	return point("net", map[string]string{"interface": iface}, map[string]any{
		"bytes_recv": brecv, "bytes_sent": bsent, "packets_recv": precv, "packets_sent": psent,
		"err_in": errIn, "err_out": errOut, "drop_in": dropIn, "drop_out": dropOut,
	})
}

var (
	netLo      = netPoint("lo", 3245, 3245, 30, 30, 0, 0, 0, 0)
	netEth0    = netPoint("eth0", 73529160, 497601, 5244, 4456, 1, 3, 2, 4)
	netDocker0 = netPoint("docker0", 100, 200, 2, 3, 0, 0, 0, 0)
)

func TestNet(t *testing.T) {
	tests := []struct {
		name       string
		interfaces []string
		want       []metric.Point
	}{
		{"defaults skip lo", nil, []metric.Point{netDocker0, netEth0}},
		{"globs", []string{"eth*", "lo"}, []metric.Point{netEth0, netLo}},
		{"none matches", []string{"wlan*"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]any{"proc_root": "testdata/proc"}
			if tt.interfaces != nil {
				values["net_interfaces"] = tt.interfaces
			}
			pts, err := gather(t, mustCollector(t, "net", values))
			if err != nil {
				t.Fatal(err)
			}
			diffPoints(t, tt.want, pts)
		})
	}
}

func TestNetBadGlob(t *testing.T) {
	_, err := newCollector(t, "net", map[string]any{"net_interfaces": []string{"eth[0"}})
	assertAttrError(t, err, "net_interfaces")
}
