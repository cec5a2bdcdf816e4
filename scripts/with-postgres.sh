#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 (a free port, a temp directory), runs the
# given command with ENCLAVE_NN_TEST_PG set to its URL, then stops and deletes the cluster.
#   scripts/with-postgres.sh node scripts/run-tests.mjs src/license
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql). initdb refuses to
# run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: scripts/with-postgres.sh <command…>" >&2; exit 2; fi
bindir="$(command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)" || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then echo "with-postgres: pg_ctl not found (apt-get install postgresql)" >&2; exit 2; fi
dir="$(mktemp -d /tmp/enclave-nn-pg.XXXXXX)"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
cleanup() { as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >/dev/null
export ENCLAVE_NN_TEST_PG="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: $ENCLAVE_NN_TEST_PG" >&2
set +e
"$@"
rc=$?
exit $rc
