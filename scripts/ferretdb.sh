#!/usr/bin/env bash
# FerretDB v1 (a MongoDB wire-protocol server over SQLite) for running the MongoDB adapters for real.
#
#   scripts/ferretdb.sh build             build the binary into the cache if it is not there; print its path
#   scripts/ferretdb.sh start             start a server on a free 127.0.0.1 port, wait for `ping`, and
#                                         print `export MONGO_URL=…` and `export FERRETDB_RUN_DIR=…` lines
#                                         (use: eval "$(scripts/ferretdb.sh start)")
#   scripts/ferretdb.sh stop [RUN_DIR]    stop that server (default $FERRETDB_RUN_DIR) and remove RUN_DIR
#   scripts/ferretdb.sh run -- CMD ARG…   start, run CMD with MONGO_URL set, stop; exits with CMD's status
#
# Environment:
#   FERRETDB_CACHE     where the binary is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/ferretdb/v1.24.2),
#                      outside the clone so a fresh clone on the same machine reuses it
#   FERRETDB_DATA_DIR  keep the SQLite files there instead of in RUN_DIR (removed on stop), e.g. for
#                      `npm run dev`
#
# Building needs Go (the module proxy serves FerretDB's source); the first build takes a few minutes.
# Waiting for `ping` uses the project's `mongodb` driver, so run `npm ci` first.
#
# Why not plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the binary it builds
# panics at start ("Invalid build/version/version.txt file content"), because FerretDB's release
# process generates build/version/version.txt and the module zip does not contain it. So this script
# downloads the same module with `go mod download`, writes that one file, and `go build`s
# ./cmd/ferretdb inside it with the module's own go.mod and go.sum (checksums verified by Go).
set -euo pipefail

readonly VERSION="v1.24.2"
readonly MODULE="github.com/FerretDB/FerretDB"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
CACHE="${FERRETDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferretdb/$VERSION}"
readonly CACHE
readonly BIN="$CACHE/ferretdb"

say() { echo "ferretdb.sh: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# A cached binary counts only if it runs and reports the expected version (a binary from plain
# `go install` panics here and is rebuilt).
binary_ok() {
  local reported
  [ -x "$BIN" ] && reported="$("$BIN" --version 2>/dev/null)" && [[ $reported == "version: $VERSION"$'\n'* ]]
}

find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

cmd_build() {
  if binary_ok; then
    echo "$BIN"
    return 0
  fi
  local go
  go="$(find_go)" || die "Go is not installed (no \`go\` on PATH nor /usr/local/go/bin/go): cannot build FerretDB $VERSION. Install Go ≥ 1.24, or run the tests without MONGO_URL (the MongoDB suites then skip)."
  mkdir -p "$CACHE"
  # In a subshell, so the lock's file descriptor and the temp folder end with the build.
  (
    # One build at a time per cache: a parallel `start` waits for the first build.
    exec 9>"$CACHE/.build.lock"
    flock 9
    binary_ok && exit 0
    say "building FerretDB $VERSION into $CACHE with $("$go" version) (first time only; takes minutes)"
    started=$SECONDS
    work="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    cd "$work"
    src="$(GOTOOLCHAIN=local "$go" mod download -json "$MODULE@$VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [ -n "$src" ] && [ -d "$src" ] || die "go mod download $MODULE@$VERSION gave no source folder"
    cp -R "$src/." "$work/src"
    chmod -R u+w "$work/src"
    echo "$VERSION" >"$work/src/build/version/version.txt"
    cd "$work/src"
    GOTOOLCHAIN=local "$go" build -mod=readonly -buildvcs=false -trimpath -o "$BIN.tmp" ./cmd/ferretdb
    mv -f "$BIN.tmp" "$BIN"
    binary_ok || die "the built $BIN does not report version $VERSION"
    say "built FerretDB $VERSION in $((SECONDS - started)) s"
  )
  echo "$BIN"
}

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

cmd_start() {
  cmd_build >/dev/null
  [ -d "$ROOT/node_modules/mongodb" ] || die "run \`npm ci\` first (the readiness check uses the mongodb driver)"
  local run data port pid url attempt
  run="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-run.XXXXXX")"
  data="${FERRETDB_DATA_DIR:-$run/data}"
  mkdir -p "$data" "$run/state"
  data="$(cd "$data" && pwd)"
  # The port is free when picked and taken by FerretDB a moment later; another process may win
  # that race, so a server that exits before answering is retried on a new port.
  for attempt in 1 2 3; do
    port="$(free_port)"
    url="mongodb://127.0.0.1:$port/"
    "$BIN" --handler=sqlite --sqlite-url="file:$data/" --state-dir="$run/state" \
      --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --log-level=warn \
      </dev/null >>"$run/ferretdb.log" 2>&1 &
    pid=$!
    echo "$pid" >"$run/pid"
    if (cd "$ROOT" && node scripts/mongo-ping.mjs "$url" --timeout-ms 60000 --pid "$pid"); then
      say "FerretDB $VERSION (SQLite backend in $data) answers ping at $url (pid $pid)"
      printf 'export MONGO_URL=%q\nexport FERRETDB_RUN_DIR=%q\n' "$url" "$run"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    say "attempt $attempt: FerretDB did not come up on port $port; its log:"
    tail -n 20 "$run/ferretdb.log" >&2 || true
  done
  rm -rf "$run"
  die "FerretDB did not start"
}

# True while `pid` runs (a zombie left for a non-reaping init counts as ended).
running() {
  local state
  state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

cmd_stop() {
  local run="${1:-${FERRETDB_RUN_DIR:-}}"
  [ -n "$run" ] || die "stop: give the RUN_DIR that start printed (or set FERRETDB_RUN_DIR)"
  [ -f "$run/pid" ] || die "stop: $run has no pid file (not started by this script?)"
  local pid i
  pid="$(cat "$run/pid")"
  if kill -TERM "$pid" 2>/dev/null; then
    for i in $(seq 1 50); do
      running "$pid" || break
      sleep 0.2
    done
    if running "$pid"; then
      say "pid $pid still running after 10 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$run"
  say "stopped FerretDB (pid $pid)"
}

cmd_run() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "run: give a command, e.g. scripts/ferretdb.sh run -- npm test"
  local started
  # Assigned first: `eval "$(…)"` alone would carry on after a failed start.
  started="$(cmd_start)"
  eval "$started"
  # shellcheck disable=SC2064 # expand the run folder now
  trap "cmd_stop '$FERRETDB_RUN_DIR'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local status=0
  "$@" || status=$?
  exit "$status"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop "${2:-}" ;;
  run)
    shift
    cmd_run "$@"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
