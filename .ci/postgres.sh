#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, for CI and developers alike.
#
#   eval "$(.ci/postgres.sh start)"   # installs PostgreSQL if missing (as root), starts a cluster
#                                     # on 127.0.0.1 and prints the exports the tests read
#   cargo test
#   .ci/postgres.sh stop              # stops it and removes its folder
#
# The cluster lives in a fresh temporary folder, listens on 127.0.0.1 only on a free port,
# trusts local connections (it holds nothing but test schemas), and skips fsync. initdb and
# postgres refuse to run as root, so as root they run as the user `nobody`.
# It serves TLS (ssl = on, clients may still connect plain) with a server certificate for
# localhost and 127.0.0.1 signed by a throwaway CA made here with `openssl` (which Debian's
# postgresql packages bring, through ssl-cert); a second, unrelated CA is made for the tests
# of a certificate that does not verify. Their paths are exported as BUDGET_BOT_TEST_PG_CA
# and BUDGET_BOT_TEST_PG_OTHER_CA.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return 0
  fi
  return 1
}

install_postgres() {
  if [ "$(id -u)" != 0 ]; then
    say "PostgreSQL is not installed; install it (e.g. sudo apt-get install -y postgresql) and run this again"
    exit 1
  fi
  say "installing PostgreSQL from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner: `nobody` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

# A CA, a second unrelated CA, and a server certificate (localhost, 127.0.0.1) the first
# signed, valid for two days, in $1. The server key goes to the cluster's owner, mode 0600,
# as PostgreSQL demands.
make_certificates() {
  local tls=$1
  if ! command -v openssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y -qq openssl >&2
    else
      say "openssl is not installed; install it (e.g. sudo apt-get install -y openssl) and run this again"
      exit 1
    fi
  fi
  mkdir -p "$tls"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  for ca in ca other-ca; do
    openssl req -x509 -new "${ec[@]}" -days 2 -keyout "$tls/$ca.key" -out "$tls/$ca.crt" \
      -subj "/CN=budget-bot test $ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  done
  openssl req -new "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
  rm -f "$tls/ca.key" "$tls/other-ca.key" "$tls/server.csr" "$tls/server.ext" "$tls/ca.srl"
  chmod 755 "$tls"
  chmod 644 "$tls/ca.crt" "$tls/other-ca.crt" "$tls/server.crt"
  chmod 600 "$tls/server.key"
  if [ "$(id -u)" = 0 ]; then chown nobody "$tls/server.key"; fi
}

free_port() {
  local port
  for port in $(seq 54320 54420); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  say "no free port between 54320 and 54420 on 127.0.0.1"
  exit 1
}

start() {
  local bin dir port
  bin=$(bindir) || { install_postgres; bin=$(bindir); }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/budget-bot-postgres.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown nobody "$dir"; fi
  make_certificates "$dir/tls"
  port=$(free_port)
  as_owner "$bin/initdb" -D "$dir/data" -U budgetbot --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  say "PostgreSQL ($bin) listening on 127.0.0.1:$port, data in $dir"
  echo "export BUDGET_BOT_TEST_DATABASE_URL=postgres://budgetbot@127.0.0.1:$port/postgres"
  echo "export BUDGET_BOT_TEST_POSTGRES_DIR=$dir"
  echo "export BUDGET_BOT_TEST_PG_CA=$dir/tls/ca.crt"
  echo "export BUDGET_BOT_TEST_PG_OTHER_CA=$dir/tls/other-ca.crt"
}

stop() {
  local dir=${1:-${BUDGET_BOT_TEST_POSTGRES_DIR:-}}
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    say "no cluster to stop (give its folder, or export BUDGET_BOT_TEST_POSTGRES_DIR)"
    return 0
  fi
  local bin
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  rm -rf "$dir"
  say "stopped and removed $dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start | stop [FOLDER]" >&2
    exit 2
    ;;
esac
