#!/usr/bin/env bash
# The production topology on one host: nginx on the public port in front of two Rasa
# replicas sharing PostgreSQL (tracker store, our tables) and Redis (lock store, socket.io),
# one action server and the staff console (talking to Rasa through nginx). Prints what is
# where and stops everything cleanly on Ctrl-C. See README "Production: several replicas".
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv/bin
umask 077  # var/, tokens and logs are for this user only
# As the Makefile: quieter TensorFlow and SQLAlchemy, no telemetry from Rasa.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" RASA_TELEMETRY_ENABLED=false
export SQLALCHEMY_SILENCE_UBER_WARNING=1
RASA_PORT="${RASA_PORT:-5005}"            # public: nginx (same URLs as `make run`)
REPLICA_A_PORT="${REPLICA_A_PORT:-5006}"  # Rasa replicas, on 127.0.0.1 only
REPLICA_B_PORT="${REPLICA_B_PORT:-5007}"
ACTIONS_PORT="${ACTIONS_PORT:-5055}"
CONSOLE_PORT="${CONSOLE_PORT:-5002}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export LOCK_STORE_KEY_PREFIX="${LOCK_STORE_KEY_PREFIX:-prod}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
LOGS=var/log/prod
WORK=var/prod
mkdir -p "$LOGS" "$WORK"
chmod 700 var var/log "$LOGS" "$WORK"
[ -x "$NGINX" ] || { echo "nginx is not installed: make nginx" >&2; exit 1; }

# Without DATABASE_URL: database rasa_prod on the local PostgreSQL server, created if missing.
if [ -z "${DATABASE_URL:-}" ]; then
  export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/rasa_prod"
  "$VENV/python" - <<'PY'
import sqlalchemy as sa

admin = sa.create_engine("postgresql://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = 'rasa_prod'")).first():
        conn.execute(sa.text('CREATE DATABASE "rasa_prod"'))
        print("created database rasa_prod")
PY
fi
"$VENV/python" -c '
import os, redis
redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5).ping()
' || { echo "Redis at REDIS_URL is not reachable" >&2; exit 1; }

# The same HTTP API token on both replicas (the console may reach either): RASA_TOKEN, or
# the one `make run` keeps in var/rasa-token.
if [ -z "${RASA_TOKEN:-}" ]; then
  if [ ! -s var/rasa-token ]; then
    (umask 077; "$VENV/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > var/rasa-token)
  fi
  RASA_TOKEN="$(cat var/rasa-token)"
fi
export RASA_TOKEN

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping ..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped."
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

wait_for() {  # url, name, pid, seconds
  local deadline=$((SECONDS + $4))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then echo "$2 exited; see $LOGS/" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "$2 did not start in $4 s; see $LOGS/" >&2; exit 1; fi
    sleep 1
  done
}

masked() { sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#' <<< "$1"; }  # password -> ***

start=$SECONDS
# Once, before any replica starts: our tables (Alembic) and Rasa's tracker store tables, so
# the replicas do not race to create them.
"$VENV/python" -m bot db upgrade
"$VENV/python" -c '
from bot.storage.tracker_store import ConfiguredSQLTrackerStore
ConfiguredSQLTrackerStore().engine.dispose()
'
sed "s|localhost:5055|localhost:$ACTIONS_PORT|" endpoints.yml > "$WORK/endpoints.yml"
"$VENV/python" -m bot.deploy.nginx --listen "$RASA_PORT" --workdir "$WORK/nginx" \
  --log-dir "$LOGS" --replica "127.0.0.1:$REPLICA_A_PORT" --replica "127.0.0.1:$REPLICA_B_PORT" \
  > /dev/null
"$NGINX" -t -q -p "$WORK/nginx" -c "$PWD/$WORK/nginx/nginx.conf"

"$VENV/python" -m bot actions --port "$ACTIONS_PORT" > "$LOGS/actions.log" 2>&1 &
pids+=($!)
# The replicas are behind nginx: the client address is the right-most X-Forwarded-For.
export TRUST_PROXY=1
for port in "$REPLICA_A_PORT" "$REPLICA_B_PORT"; do
  "$VENV/python" -m bot serve --model models/assistant.tar.gz --interface 127.0.0.1 --port "$port" \
    --enable-api --credentials credentials.yml --endpoints "$WORK/endpoints.yml" \
    > "$LOGS/rasa-$port.log" 2>&1 &
  pids+=($!)
done
"$NGINX" -p "$WORK/nginx" -c "$PWD/$WORK/nginx/nginx.conf" -g 'daemon off;' \
  > "$LOGS/nginx.log" 2>&1 &
pids+=($!)
# The staff console talks to Rasa's HTTP API through the load balancer.
RASA_URL="http://localhost:$RASA_PORT" "$VENV/python" -m bot console --port "$CONSOLE_PORT" \
  > "$LOGS/console.log" 2>&1 &
pids+=($!)

wait_for "http://localhost:$ACTIONS_PORT/health" "action server" "${pids[0]}" 120
wait_for "http://127.0.0.1:$REPLICA_A_PORT/" "Rasa replica :$REPLICA_A_PORT" "${pids[1]}" 300
wait_for "http://127.0.0.1:$REPLICA_B_PORT/" "Rasa replica :$REPLICA_B_PORT" "${pids[2]}" 300
wait_for "http://localhost:$RASA_PORT/" "nginx" "${pids[3]}" 30
wait_for "http://localhost:$CONSOLE_PORT/health" "staff console" "${pids[4]}" 60

cat <<INFO

Recovery-support assistant, production topology (ready in $((SECONDS - start)) s).
  Load balancer  nginx on :$RASA_PORT -> Rasa replicas 127.0.0.1:$REPLICA_A_PORT, 127.0.0.1:$REPLICA_B_PORT
                 (round robin; /socket.io/ pinned per client address; conf $WORK/nginx/nginx.conf)
  REST channel   POST http://localhost:$RASA_PORT/webhooks/rest/webhook  {"sender": "me", "message": "what is klonopin?"}
  socket.io      http://localhost:$RASA_PORT/socket.io  (events user_uttered / bot_uttered)
  Chat widget    http://localhost:$RASA_PORT/webhooks/widget/demo  (demo page; embed /webhooks/widget/widget.js)
  HTTP API       http://localhost:$RASA_PORT/status?token=...  (token in \$RASA_TOKEN or var/rasa-token)
  Action server  http://localhost:$ACTIONS_PORT/health
  Staff console  http://localhost:$CONSOLE_PORT/  (accounts: with DATABASE_URL as below, .venv/bin/python -m bot staff add-user NAME --role admin)
  Tracker store  $(masked "$DATABASE_URL")
  Lock store     $(masked "$REDIS_URL"), key prefix '$LOCK_STORE_KEY_PREFIX'
  Logs           $LOGS/ (rasa-$REPLICA_A_PORT.log, rasa-$REPLICA_B_PORT.log, actions.log, console.log, nginx access.log, error.log)
Press Ctrl-C to stop.
INFO

# Exit (and clean up) as soon as any process stops. Ctrl-C reaches them too, and they stop
# with 0 or 130: that is the normal way to stop, not an error.
set +e
wait -n "${pids[@]}"
status=$?
set -e
case $status in
  0|130|143) exit 0 ;;
  *) echo "a server exited with status $status; see $LOGS/" >&2; exit 1 ;;
esac
