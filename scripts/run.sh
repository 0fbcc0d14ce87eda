#!/bin/sh
# The whole system on loopback (make run): a relay, a fleet of simulated cameras and an
# edge host enrolled in the relay's "default" organization that finds the cameras. State
# lives in $RUN_DIR and survives a restart; Ctrl-C stops everything.
set -eu
BIN=${BIN:-bin}
RUN_DIR=${RUN_DIR:-.run}
CAMERAS=${CAMERAS:-4}
RELAY_ADDR=${RELAY_ADDR:-127.0.0.1:8443}
CAM_PORT=${CAM_PORT:-8081}
CONTROL_ADDR=${CONTROL_ADDR:-127.0.0.1:8080}

mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
# The relay CLI keeps its login here rather than in the user's config directory.
export XDG_CONFIG_HOME="$RUN_DIR/config"
if [ ! -s "$RUN_DIR/admin-password" ]; then
	(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$RUN_DIR/admin-password")
fi
ADMIN_PASSWORD=$(cat "$RUN_DIR/admin-password")

pids=""
stop() {
	trap - INT TERM EXIT
	[ -n "$pids" ] && kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	echo "stopped."
}
trap stop INT TERM EXIT

RELAY_ADMIN_PASSWORD=$ADMIN_PASSWORD "$BIN/relay" serve --data "$RUN_DIR/relay" --listen "$RELAY_ADDR" \
	--log-level warn 2>"$RUN_DIR/relay.log" &
pids="$pids $!"
CA="$RUN_DIR/relay/ca.pem"
URL="https://$RELAY_ADDR"
for _ in $(seq 100); do
	[ -s "$CA" ] && curl -fsS --cacert "$CA" "$URL/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS --cacert "$CA" "$URL/healthz" >/dev/null || { echo "the relay did not start; see $RUN_DIR/relay.log" >&2; exit 1; }

# cameras.json holds each camera's owner authentication key: readable by this user only.
(umask 077; : > "$RUN_DIR/cameras.json")
chmod 600 "$RUN_DIR/cameras.json"
"$BIN/camsim" --count "$CAMERAS" --listen "127.0.0.1:$CAM_PORT" --control "$CONTROL_ADDR" \
	--state "$RUN_DIR/camsim" > "$RUN_DIR/cameras.json" 2>"$RUN_DIR/camsim.log" &
pids="$pids $!"

RELAY_PASSWORD=$ADMIN_PASSWORD "$BIN/relay" login --relay "$URL" --ca "$CA" --email admin@localhost >/dev/null
if [ ! -s "$RUN_DIR/edgehost/agent.json" ]; then
	token=$("$BIN/relay" edgehosts create --org default --name "make run" | sed -n 's/^enrollment token: \([^ ]*\).*/\1/p')
	"$BIN/edgehost" enroll --relay "$URL" --ca "$CA" --token "$token" --data "$RUN_DIR/edgehost" >/dev/null
fi
adds=""
i=0
while [ "$i" -lt "$CAMERAS" ]; do
	adds="$adds --add 127.0.0.1:$((CAM_PORT + i))"
	i=$((i + 1))
done
# Multicast on loopback needs root (ip link set lo multicast on), so the edge host is
# told where the cameras are instead of browsing mDNS. The cameras are on loopback,
# which an edge host does not reach unless told to.
EDGEHOST=$(tr -d '\n ' < "$RUN_DIR/edgehost/agent.json" | sed -n 's/.*"agentId":"\([^"]*\)".*/\1/p')
"$BIN/edgehost" run --data "$RUN_DIR/edgehost" --no-mdns $adds --allow-device-net 127.0.0.0/8 --report-interval 10s \
	2>"$RUN_DIR/edgehost.log" &
pids="$pids $!"

cat <<INFO

camcloud is running on loopback.

  relay API    $URL/api/v1   (CA: $CA)
  login        admin@localhost / $ADMIN_PASSWORD
  cameras      $CAMERAS simulated, VAPIX from http://127.0.0.1:$CAM_PORT (root / pass), list in $RUN_DIR/cameras.json
  camsim       control API http://$CONTROL_ADDR
  logs         $RUN_DIR/*.log

Try, in another shell (XDG_CONFIG_HOME=$XDG_CONFIG_HOME keeps this login):
  export XDG_CONFIG_HOME=$XDG_CONFIG_HOME
  $BIN/relay edgehosts discovered --org default --edgehost $EDGEHOST
  CAMERA_PASSWORD=pass $BIN/relay edgehosts onboard --org default --edgehost $EDGEHOST --serial <SERIAL>
  $BIN/relay devices list --org default

Ctrl-C stops everything.
INFO
wait
