#!/usr/bin/env bash
# Start the action server and the Rasa server on the embedded default (SQLite),
# print what is where, and stop both cleanly on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv/bin
# Everything this script creates (var/, the token, databases, logs) is for this user only.
umask 077
RASA_PORT="${RASA_PORT:-5005}"
ACTIONS_PORT="${ACTIONS_PORT:-5055}"
CONSOLE_PORT="${CONSOLE_PORT:-5002}"
mkdir -p var/log
chmod 700 var var/log

# The HTTP API is token-protected. Use RASA_TOKEN if set; otherwise a random token is
# made once and kept (readable only by this user) in var/rasa-token.
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
    if ! kill -0 "$3" 2>/dev/null; then echo "$2 exited; see var/log/" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "$2 did not start in $4 s; see var/log/" >&2; exit 1; fi
    sleep 1
  done
}

start=$SECONDS
# Our own tables (handoffs, notifications) are migrated with Alembic before anything starts.
"$VENV/python" -m bot db upgrade
# The action server listens on loopback and wants the token the Rasa server sends
# (endpoints.yml); `python -m bot serve` passes the HTTP API token to Rasa from the
# environment, never on the command line (ps shows command lines to every local user).
# Rasa must call the action server on the port it was started on (outside review: with
# ACTIONS_PORT set, Rasa still called 5055, where any local user could have listened).
ENDPOINTS=endpoints.yml
if [ "$ACTIONS_PORT" != 5055 ]; then
  ENDPOINTS=var/endpoints.yml
  sed "s|localhost:5055|localhost:$ACTIONS_PORT|" endpoints.yml > "$ENDPOINTS"
fi
"$VENV/python" -m bot actions --port "$ACTIONS_PORT" > var/log/actions.log 2>&1 &
pids+=($!)
"$VENV/python" -m bot serve --model models/assistant.tar.gz --port "$RASA_PORT" \
  --enable-api --credentials credentials.yml --endpoints "$ENDPOINTS" > var/log/rasa.log 2>&1 &
pids+=($!)
# The staff console talks to Rasa's HTTP API with the same token.
RASA_URL="http://localhost:$RASA_PORT" "$VENV/python" -m bot console --port "$CONSOLE_PORT" \
  > var/log/console.log 2>&1 &
pids+=($!)

wait_for "http://localhost:$ACTIONS_PORT/health" "action server" "${pids[0]}" 120
wait_for "http://localhost:$RASA_PORT/" "Rasa server" "${pids[1]}" 300
wait_for "http://localhost:$CONSOLE_PORT/health" "staff console" "${pids[2]}" 60

cat <<INFO

Recovery-support assistant is running (ready in $((SECONDS - start)) s).
  REST channel   POST http://localhost:$RASA_PORT/webhooks/rest/webhook  {"sender": "me", "message": "what is klonopin?"}
  socket.io      http://localhost:$RASA_PORT/socket.io  (events user_uttered / bot_uttered)
  Chat widget    http://localhost:$RASA_PORT/webhooks/widget/demo  (demo page; embed /webhooks/widget/widget.js)
  HTTP API       http://localhost:$RASA_PORT/status?token=...  (token in \$RASA_TOKEN or var/rasa-token)
  Action server  http://localhost:$ACTIONS_PORT/health
  Staff console  http://localhost:$CONSOLE_PORT/  (accounts: .venv/bin/python -m bot staff add-user NAME --role admin)
  Tracker store  ${DATABASE_URL:-sqlite:///var/tracker.db}
  Logs           var/log/rasa.log, var/log/actions.log, var/log/console.log
Press Ctrl-C to stop.
INFO

# Exit (and clean up) as soon as either server stops. Ctrl-C reaches the servers too, and
# they stop with 0 or 130: that is the normal way to stop, not an error.
set +e
wait -n "${pids[@]}"
status=$?
set -e
case $status in
  0|130|143) exit 0 ;;
  *) echo "a server exited with status $status; see var/log/" >&2; exit 1 ;;
esac
