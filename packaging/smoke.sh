#!/usr/bin/env bash
# Smoke test of a built executable (default dist/fortytwo): init, apply the demo plan, serve
# on a free port, create a token, call /healthz and /v1/_ping, stop it with SIGTERM, and check
# that it exited 0 and left no _MEI unpack folder behind. Needs python3 for the HTTP calls
# (no curl required). The full end-to-end test is tests/e2e/test_binary.py.
#
#   packaging/smoke.sh [path/to/fortytwo]
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$(realpath "${1:-dist/fortytwo}")"
work="$(mktemp -d)"
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; fi
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '  %-34s' "$1"; }
ok() { echo "ok${1:+ ($1)}"; }

fetch() {  # fetch URL [TOKEN] -> prints the body, fails unless 200
    python3 - "$@" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", f"Bearer {sys.argv[2]}")
with urllib.request.urlopen(req, timeout=5) as resp:
    print(resp.read().decode())
PY
}

data="$work/data"
echo "smoke test of $BIN"
step "version";  ok "$("$BIN" version)"
step "init";     "$BIN" --data-dir "$data" init >/dev/null; ok
step "migrate";  "$BIN" --data-dir "$data" migrate >/dev/null; ok
step "apply tests/data/demo.toml"; "$BIN" --data-dir "$data" apply tests/data/demo.toml >/dev/null; ok
step "tokens create"
token="$("$BIN" --data-dir "$data" tokens create --user ada --name smoke --scopes user:read --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
ok "${token:0:10}…"

step "serve --port 0"
"$BIN" --data-dir "$data" serve --port 0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
started=$(date +%s%N)
url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/serve.out")"
    [ -n "$url" ] && fetch "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done
[ -n "$url" ] || { echo "FAILED"; cat "$work/serve.err"; exit 1; }
ok "$url, healthy after $(( ($(date +%s%N) - started) / 1000000 )) ms"

step "GET /v1/_ping"
fetch "$url/v1/_ping" "$token" | grep -q '"ok": *true' && ok

step "unpack folder while running"
ls "$TMPDIR" | grep -q '^_MEI' && ok "$(ls "$TMPDIR")"

step "SIGTERM"
kill -TERM "$server_pid"
set +e; wait "$server_pid"; code=$?; set -e
server_pid=""
[ "$code" -eq 0 ] || { echo "FAILED: exit $code"; cat "$work/serve.err"; exit 1; }
ok "exit 0"

step "temporary folder left behind"
leftover="$(ls -A "$TMPDIR")"
[ -z "$leftover" ] || { echo "FAILED: $leftover"; exit 1; }
ok "none"
echo "smoke test passed"
