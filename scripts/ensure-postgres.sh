#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, user
# postgres) for the test suite, installing and starting Debian's when there is
# none, and prints its URL. Tests create and drop their own databases on it.
set -euo pipefail
url=${ACTIONS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root to run: $*" >&2; exit 1
  fi
}
ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }

if ! ready; then
  if ! command -v pg_ctlcluster >/dev/null; then
    say "installing PostgreSQL (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  fi
  say "starting PostgreSQL"
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    as_root pg_createcluster "$version" main >&2
  fi
  cluster=$(pg_lsclusters -h | head -n 1 | awk '{print $1" "$2}')
  # Tests connect as postgres over TCP on loopback without a password.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  as_root pg_ctlcluster $cluster start >&2 || as_root pg_ctlcluster $cluster reload >&2
  for _ in $(seq 1 50); do ready && break; sleep 0.2; done
  ready || { echo "error: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
fi
echo "$url"
