#!/usr/bin/env bash
# Vigil's main job on embedded defaults, run by `make run` after `make build`:
#
#   1. a local registry (SQLite catalog and embedded metrics store in $RUN_DIR/registry),
#   2. the first-party plugins packaged, signed, published, evaluated and approved into it,
#   3. installed with `vigil install` (verified, locked, agent.hcl edited) into a local agent,
#   4. the agent shipping its points to the registry through its disk spool.
#
# Everything uses the real CLIs, as an operator would. Re-running reuses $RUN_DIR (what is
# already published is skipped). Ctrl-C stops the agent (it drains to the registry), then
# the registry.
set -euo pipefail

BIN=${BIN:-bin}
RUN=${RUN_DIR:-.vigil-run}
LISTEN=${VIGIL_RUN_LISTEN:-127.0.0.1:8480}
PLUGINS=${PLUGINS:-system process net}
URL="http://$LISTEN"
NODE=$(hostname -s 2>/dev/null || echo local)
PUBLISHER=vigil

mkdir -p "$RUN/dist"
RUN=$(cd "$RUN" && pwd)
BIN=$(cd "$BIN" && pwd)
say() { printf '\n==> %s\n' "$*" >&2; }
# json_field NAME: the first "NAME": "value" of the JSON on stdin.
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }

# The admin token stays the same across runs; the registry stores its hash.
if [ ! -s "$RUN/admin.token" ]; then
	(umask 077 && printf 'vgr_%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >"$RUN/admin.token")
fi
ADMIN=$(cat "$RUN/admin.token")
export VIGIL_REGISTRY_URL=$URL VIGIL_REGISTRY_TOKEN=$ADMIN

# The children run in sessions of their own, so a Ctrl-C in the terminal
# reaches only this script, which stops each child once, in order (a
# second signal would force the agent's shutdown).
detach=
command -v setsid >/dev/null 2>&1 && detach=setsid
registry_pid= agent_pid=
# stop [code] stops both and exits with code (by default the status the
# script was exiting with): after a signal the script must not carry on.
stop() {
	local code=${1:-$?}
	trap - INT TERM EXIT
	say "stopping"
	if [ -n "$agent_pid" ]; then kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
	if [ -n "$registry_pid" ]; then kill -TERM "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
	exit "$code"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap stop EXIT

say "starting the registry on $URL (data: $RUN/registry, log: $RUN/registry.log)"
VIGIL_REGISTRY_ADMIN_TOKEN=$ADMIN $detach "$BIN/vigil-registry" serve --listen "$LISTEN" --data "$RUN/registry" >>"$RUN/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
	"$BIN/vigil-registry" releases >/dev/null 2>&1 && break
	kill -0 "$registry_pid" 2>/dev/null || { cat "$RUN/registry.log" >&2; exit 1; }
	sleep 0.1
done

if [ ! -s "$RUN/publisher.token" ]; then
	say "creating the publisher \"$PUBLISHER\" and its signing key"
	"$BIN/vigil-registry" token create --role publisher --publisher "$PUBLISHER" --format json | json_field secret >"$RUN/publisher.token"
	"$BIN/vigil" plugin keygen --out "$RUN/signing.key" >/dev/null
	"$BIN/vigil" plugin key add "$PUBLISHER" --key "$RUN/signing.key" --registry "$URL" --token "$(cat "$RUN/publisher.token")"
fi
PUB=$(cat "$RUN/publisher.token")

for p in $PLUGINS; do
	v=$(sed -n 's/.*pluginVersion *= *"\([^"]*\)".*/\1/p' plugins/"$p"/*.go | head -n 1)
	[ -f "$RUN/registry/.approved-$p-$v" ] && continue
	say "publishing $p $v: register, package, sign, publish, evaluate, approve"
	if [ ! -s "$RUN/dist/$p.key" ]; then
		"$BIN/vigil" plugin register "$p" --registry "$URL" --token "$PUB" --format json | json_field plugin_key >"$RUN/dist/$p.key"
	fi
	"$BIN/vigil" plugin package "plugins/$p" --name "$p" --version "$v" --key "$RUN/signing.key" --out "$RUN/dist/$p-$v" >/dev/null
	"$BIN/vigil" plugin publish "$RUN/dist/$p-$v" --registry "$URL" --plugin-key "$(cat "$RUN/dist/$p.key")" --key "$RUN/signing.key" --wait
	"$BIN/vigil-registry" approve "$p" "$v" --reason "first-party plugin, published by make run"
	touch "$RUN/registry/.approved-$p-$v"
done

CONF=$RUN/agent.hcl
if [ ! -s "$CONF" ]; then
	say "writing $CONF for node $NODE with its own agent token"
	TOKEN=$("$BIN/vigil-registry" token create --role agent --node "$NODE" --format json | json_field secret)
	cat >"$CONF" <<EOF
# Written by \`make run\`: a local agent shipping to the local registry.
# \`vigil install\` adds the plugin blocks below and keeps these comments.

agent {
  node     = "$NODE"
  interval = "10s"
  data_dir = "agent" # plugins, disk spool, status; relative to this file
}

registry {
  url   = "$URL"
  token = "$TOKEN" # an agent token bound to node $NODE
}

# Every batch goes through a disk spool in agent/spool/registry first.
output "registry" {
  spool_max_bytes = "256MiB"
}
EOF
fi
for p in $PLUGINS; do
	grep -q "^plugin \"$p\"" "$CONF" || "$BIN/vigil" install "$p" --config "$CONF"
done

say "starting the agent (log: $RUN/agent.log)"
$detach "$BIN/vigil" agent --config "$CONF" >>"$RUN/agent.log" 2>&1 &
agent_pid=$!

cat >&2 <<EOF

Vigil is running: the agent on node $NODE ships to the registry at $URL.
Where to look (the admin token is in $RUN/admin.token):

  curl -s -H "Authorization: Bearer \$(cat $RUN/admin.token)" '$URL/v1/nodes/$NODE'
  curl -s -H "Authorization: Bearer \$(cat $RUN/admin.token)" '$URL/v1/query/series?node=$NODE&measurement=cpu&field=usage_user&tag.cpu=cpu-total&from=-15m&step=1m&agg=mean'
  tail -f $RUN/agent.log $RUN/registry.log

Ctrl-C stops both.
EOF
while kill -0 "$agent_pid" 2>/dev/null && kill -0 "$registry_pid" 2>/dev/null; do
	sleep 1
done
say "a process exited on its own; see $RUN/agent.log and $RUN/registry.log"
exit 1
