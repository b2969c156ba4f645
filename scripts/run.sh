#!/usr/bin/env bash
# Runs the whole stack locally (no Docker): SQLite under DATA_DIR, the local Redis (started
# if needed), and under honcho the processes scripts/processes.sh picks from the Procfile:
# all services and workers, and a local SMTP sink unless SMTP_HOST/SMTP_PORT point elsewhere.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export DATA_DIR="${DATA_DIR:-$PWD/data}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
# A local run may use the built-in development key; anything else needs a real SECRET_KEY.
export ABIERTO_ENV="${ABIERTO_ENV:-development}"
mkdir -p "$DATA_DIR"

redis_answers() { python -c "import redis,sys; redis.Redis.from_url('$REDIS_URL', socket_connect_timeout=1).ping()" 2>/dev/null; }
if ! redis_answers; then
  if command -v redis-server >/dev/null; then
    port=$(python -c "from urllib.parse import urlparse; print(urlparse('$REDIS_URL').port or 6379)")
    echo "Redis is not answering at $REDIS_URL; starting redis-server on port $port (data in $DATA_DIR/redis)."
    mkdir -p "$DATA_DIR/redis"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA_DIR/redis" --appendonly yes --daemonize yes \
      --logfile "$DATA_DIR/redis/redis.log" --pidfile "$DATA_DIR/redis/redis.pid"
    for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
    # Ctrl-C stops what we started, Redis included.
    trap 'redis-cli -p "$port" shutdown >/dev/null 2>&1 || true' EXIT
  else
    echo "Redis is not answering at $REDIS_URL and redis-server is not installed." >&2
    echo "Install it (Debian/Ubuntu: sudo apt-get install redis-server) or set REDIS_URL." >&2
    exit 1
  fi
fi

processes=$(scripts/processes.sh)  # the Procfile's; the sink only when mail stays here
if grep -qx mailsink <<<"$processes"; then
  mail_note="Mail:           kept in $DATA_DIR/mail — read with: .venv/bin/abierto mail list / mail show FILE"
else
  mail_note="Mail:           sent to $SMTP_HOST:${SMTP_PORT:-25}"
fi

abierto db upgrade && abierto seed
# `make run DEMO=1`: the labelled example data too (added once; see docs/operations.md).
if [ -n "${DEMO:-}" ]; then abierto seed --demo; fi
# The "Mis datos" pages ask notifications over its API: a short-lived token for this run.
if [ -z "${NOTIFICATIONS_API_TOKEN:-}" ]; then
  NOTIFICATIONS_API_TOKEN=$(abierto token create --service notifications \
    --scopes arco:read,arco:write --name make-run --expires-in 1d 2>/dev/null)
  export NOTIFICATIONS_API_TOKEN
fi

cat <<EOT

Abierto is starting. / Abierto está iniciando.
  Events:         http://127.0.0.1:5001/   (API: /api/v1/events, OpenAPI: /api/v1/openapi.json)
  Action plan:    http://127.0.0.1:5002/   (API: /api/v1/action-plans)
  My data:        http://127.0.0.1:5001/my-data
  Notifications:  http://127.0.0.1:5003/api/v1/deliveries   (token scope deliveries:read)
  $mail_note
  Tokens:         .venv/bin/abierto token create --service registration --scopes events:write,registrations:read
  Example data:   make run DEMO=1, or now: ABIERTO_ENV=development .venv/bin/abierto seed --demo
Stop with Ctrl-C. / Detén con Ctrl-C.

EOT
# shellcheck disable=SC2086
honcho start $processes
