#!/bin/sh
# Creates the secret files deploy/compose.yaml mounts, once, with fresh random
# values (an existing file is kept, so a rerun never replaces a key that
# encrypts data). Usage: deploy/secrets/generate.sh [dir]   (default: this directory)
#
#   master-key, blind-index-key   32 random bytes (hex): the local KEK and the blind index key
#   metrics-token                 bearer token Prometheus sends to /metrics
#   postgres-password             password of the `rampart` PostgreSQL role
#   redis.conf                    Redis configuration with its password (requirepass)
#   rampart.env                   DATABASE_URL, REDIS_URL and SMTP_URL for the Rampart containers
#   tls.pem                       a self-signed certificate and key for HAProxy (replace it with a real one)
#   db-ca.pem, db-ca.key          a CA for the database connection (Rampart verifies PostgreSQL against db-ca.pem;
#                                 keep db-ca.key off the servers: it only signs a new postgres certificate)
#   postgres-server.crt/.key      PostgreSQL's server certificate for the host name `postgres`, signed by that CA
#
# Back up master-key and blind-index-key apart from the database backups
# (docs/operations.md): a database restored without them cannot be decrypted.
set -eu
dir=${1:-$(dirname "$0")}
if [ ! -s "$dir/rampart.env" ]; then
  : "${SMTP_URL:?set SMTP_URL (smtp://user:password@host:587) to create rampart.env: production refuses to start without mail}"
fi
mkdir -p "$dir"
# The directory keeps other host users out; the files are world-readable
# because compose (outside swarm) bind-mounts them with their host owner and
# mode, and the containers read them as their own users (rampart 1000, postgres 999).
chmod 0700 "$dir"
umask 022
rand() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
put() { [ -s "$dir/$1" ] || { printf '%s\n' "$2" > "$dir/$1"; echo "created $dir/$1"; }; }

put master-key "$(rand 32)"
put blind-index-key "$(rand 32)"
put metrics-token "$(rand 32)"
put postgres-password "$(rand 24)"
put redis-password "$(rand 24)"
put redis.conf "requirepass $(cat "$dir/redis-password")"
put rampart.env "DATABASE_URL=postgres://rampart:$(cat "$dir/postgres-password")@postgres:5432/rampart
REDIS_URL=redis://:$(cat "$dir/redis-password")@redis:6379
SMTP_URL=${SMTP_URL:-}"
if [ ! -s "$dir/tls.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=${RAMPART_HOSTNAME:-localhost}" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
  cat "$dir/tls.crt" "$dir/tls.key" > "$dir/tls.pem"
  rm -f "$dir/tls.key" "$dir/tls.crt"
  echo "created $dir/tls.pem (self-signed)"
fi
if [ ! -s "$dir/db-ca.pem" ]; then
  # TLS to PostgreSQL, verified (DATABASE_SSL=verify-full): production preflight refuses a database
  # that is not on loopback without it.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Rampart database CA" \
    -keyout "$dir/db-ca.key" -out "$dir/db-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=postgres" \
    -keyout "$dir/postgres-server.key" -out "$dir/postgres-server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:postgres\n' > "$dir/postgres-server.ext"
  openssl x509 -req -in "$dir/postgres-server.csr" -CA "$dir/db-ca.pem" -CAkey "$dir/db-ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/postgres-server.ext" -out "$dir/postgres-server.crt" 2>/dev/null
  rm -f "$dir/postgres-server.csr" "$dir/postgres-server.ext" "$dir/db-ca.srl"
  echo "created $dir/db-ca.pem and $dir/postgres-server.crt"
fi
