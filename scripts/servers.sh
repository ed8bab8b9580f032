# Real servers for the hub's tests, started by scripts/test-env and stopped with it:
#   - PostgreSQL: a throwaway cluster on a free loopback port (PIGEON_TEST_POSTGRES is
#     its server URL; each test hub makes its own database there);
#   - Garage: a single-node S3 store with one bucket and one key made by its own CLI
#     (PIGEON_TEST_S3_ENDPOINT, _BUCKET, _REGION, _KEY_ID, _SECRET; test hubs keep
#     their objects under their own prefix).
# Sourced: expects say/die/wait_for, ENV_DIR, and the PIDS and AT_EXIT arrays.
# shellcheck shell=bash

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
  local bin dir port as=()
  bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || die "test environment: PostgreSQL is not installed: run scripts/setup"
  # The server runs as postgres (it refuses root), so its folder and every parent must
  # be open to that user: not under the 0700 environment folder.
  dir=$(mktemp -d "${TMPDIR:-/tmp}/pigeon-postgres.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  port=$(free_port)
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale -N \
    >"$dir/initdb.log" 2>&1 || die "test environment: initdb failed (log in $dir/initdb.log)"
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start \
    >/dev/null || die "test environment: PostgreSQL did not start (log in $dir/postgres.log)"
  AT_EXIT+=("${as[*]} $bin/pg_ctl -D $dir/data -m fast -w stop >/dev/null 2>&1; rm -rf $dir")
  export PIGEON_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port"
  export PIGEON_TEST_POSTGRES_BIN="$bin"
  export PIGEON_TEST_POSTGRES_DATA="$dir/data"
}

start_garage() {
  local dir=$ENV_DIR/garage rpc s3 admin node info
  command -v garage >/dev/null || die "test environment: garage is not installed: run scripts/setup"
  mkdir -p "$dir"
  rpc=$(free_port) s3=$(free_port) admin=$(free_port)
  cat >"$dir/garage.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token = "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOML
  garage -c "$dir/garage.toml" server >"$dir/garage.log" 2>&1 &
  PIDS+=($!)
  wait_for 20 "Garage" garage -c "$dir/garage.toml" status
  node=$(garage -c "$dir/garage.toml" status 2>/dev/null | awk '/NO ROLE ASSIGNED/ {print $1; exit}')
  [ -n "$node" ] || die "test environment: Garage shows no node to assign (log in $dir/garage.log)"
  {
    garage -c "$dir/garage.toml" layout assign -z dc1 -c 1G "$node" &&
      garage -c "$dir/garage.toml" layout apply --version 1 &&
      garage -c "$dir/garage.toml" bucket create pigeon-test &&
      garage -c "$dir/garage.toml" key create pigeon-test-key &&
      garage -c "$dir/garage.toml" bucket allow --read --write --owner pigeon-test --key pigeon-test-key
  } >"$dir/setup.log" 2>&1 || die "test environment: setting up Garage failed (see $dir/setup.log)"
  info=$(garage -c "$dir/garage.toml" key info pigeon-test-key --show-secret 2>/dev/null)
  export PIGEON_TEST_S3_ENDPOINT="http://127.0.0.1:$s3"
  export PIGEON_TEST_S3_BUCKET=pigeon-test
  export PIGEON_TEST_S3_REGION=garage
  PIGEON_TEST_S3_KEY_ID=$(awk -F': *' '/Key ID/ {print $2; exit}' <<<"$info")
  PIGEON_TEST_S3_SECRET=$(awk -F': *' '/Secret key/ {print $2; exit}' <<<"$info")
  export PIGEON_TEST_S3_KEY_ID PIGEON_TEST_S3_SECRET
  [ -n "$PIGEON_TEST_S3_KEY_ID" ] && [ -n "$PIGEON_TEST_S3_SECRET" ] ||
    die "test environment: Garage gave no key (see $dir/setup.log)"
  export PIGEON_TEST_GARAGE_CONFIG="$dir/garage.toml"
  wait_for 20 "Garage's S3 API" curl -fsS "http://127.0.0.1:$admin/health"
}
