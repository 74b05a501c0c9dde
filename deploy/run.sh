#!/usr/bin/env bash
# run.sh: installs what is missing, builds, and runs trustportal in the foreground.
# Each daemon is restarted when it dies; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
HOME_DIR=${TP_HOME:-$TOP/var}

bash deploy/install-deps.sh
bash deploy/build.sh

# Everything from here on is the owner's alone: the event logs and keys, the
# sockets (anyone who can connect may send commands), the mails with their links,
# the logs and the config (an SMTP password). Folders kept from an earlier run
# are tightened too.
umask 077
mkdir -p "$HOME_DIR/data" "$HOME_DIR/run" "$HOME_DIR/outbox" "$HOME_DIR/keys" "$HOME_DIR/logs"
chmod 700 "$HOME_DIR/data" "$HOME_DIR/run" "$HOME_DIR/outbox" "$HOME_DIR/keys" "$HOME_DIR/logs"
if [ ! -f "$HOME_DIR/tp.cfg" ]; then
  sed -e "s|^data = .*|data = $HOME_DIR/data|" -e "s|^run = .*|run = $HOME_DIR/run|" \
    -e "s|^outbox = .*|outbox = $HOME_DIR/outbox|" -e "s|^keys = .*|keys = $HOME_DIR/keys|" \
    -e "s|^    web_root = .*|    web_root = $TOP/gateway/web|" deploy/trustportal.cfg > "$HOME_DIR/tp.cfg"
fi
chmod 600 "$HOME_DIR/tp.cfg"

# the keys of every component (what is missing): the five services, the gateway, one
# operator for tpctl, a production line and the PostIdent feed
TPCTL="$TOP/build/tpctl/tpctl -c $HOME_DIR/tp.cfg"
$TPCTL keys init >/dev/null
$TPCTL keys add-operator admin >/dev/null
$TPCTL keys add-producer line-1 >/dev/null
$TPCTL keys add-ident postident >/dev/null

# name:executable, in dependency order
SERVICES=(
  "order:$TOP/build/services/order/tp-order"
  "identification:$TOP/build/services/identification/tp-identification"
  "account:$TOP/build/services/account/tp-account"
  "production:$TOP/build/services/production/tp-production"
  "revocation:$TOP/build/services/revocation/tp-revocation"
  "gateway:$TOP/build/gateway/tp-gateway"
)

stopping=0
pids=()
supervise() {
  local name=$1 exe=$2
  while [ $stopping -eq 0 ]; do
    if [ "$name" = gateway ]; then
      "$exe" -c "$HOME_DIR/tp.cfg" >>"$HOME_DIR/logs/$name.log" 2>&1 &
    else
      "$exe" -c "$HOME_DIR/tp.cfg" -n "$name" >>"$HOME_DIR/logs/$name.log" 2>&1 &
    fi
    local pid=$!
    echo $pid > "$HOME_DIR/run/$name.pid"
    wait $pid || true
    [ $stopping -eq 0 ] || break
    echo "$(date -Is) $name exited; restarting in 1 s" | tee -a "$HOME_DIR/logs/$name.log" >&2
    sleep 1
  done
}

stop_all() {
  stopping=1
  # the supervisors first (each is a subshell with its own copy of `stopping`), so
  # that none restarts its daemon; then the daemons
  kill "${pids[@]}" 2>/dev/null || true
  for f in "$HOME_DIR"/run/*.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  wait 2>/dev/null || true
  echo "trustportal stopped."
  exit 0
}
trap stop_all INT TERM

for s in "${SERVICES[@]}"; do
  supervise "${s%%:*}" "${s#*:}" &
  pids+=($!)
done

sleep 1
echo "trustportal is running (Ctrl-C stops it): ${SERVICES[*]%%:*}"
echo "  event logs:   $HOME_DIR/data/<service>/   (build/tpctl/tpctl log stats $HOME_DIR/data/order)"
echo "  mail outbox:  $HOME_DIR/outbox/   (each mail as an .eml file; no SMTP server configured)"
echo "  service logs: $HOME_DIR/logs/"
echo "  config:       $HOME_DIR/tp.cfg   (tpctl -c $HOME_DIR/tp.cfg call order ListShops)"
echo "  demo shop code: DEMO-SHOP-2026"
PORT=$(sed -n 's/^    port = //p' "$HOME_DIR/tp.cfg" | head -1)
echo ""
echo "  portal:       http://localhost:${PORT:-8080}/"
wait
