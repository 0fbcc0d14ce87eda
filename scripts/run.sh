#!/bin/sh
# The whole system on loopback (make run): a relay, a fleet of simulated cameras and an
# edge host enrolled in the relay's "default" organization that finds the cameras. State
# lives in $RUN_DIR and survives a restart; Ctrl-C stops everything.
#
# A second make run (same RUN_DIR, or ports in use) says so and exits before it starts,
# writes or truncates anything.
set -eu
BIN=${BIN:-bin}
RUN_DIR=${RUN_DIR:-.run}
CAMERAS=${CAMERAS:-4}
RELAY_ADDR=${RELAY_ADDR:-127.0.0.1:8443}
CAM_PORT=${CAM_PORT:-8081}
CONTROL_ADDR=${CONTROL_ADDR:-127.0.0.1:8080}
# The relay's built-in TURN: UDP and TCP on TURN_ADDR, TLS on TURNS_ADDR.
TURN_ADDR=${TURN_ADDR:-127.0.0.1:3478}
TURNS_ADDR=${TURNS_ADDR:-127.0.0.1:5349}

mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
BIN=$(cd "$BIN" && pwd)

# One make run per RUN_DIR: the lock is held (on descriptor 9) until this script ends.
# The processes it starts do not inherit it (9>&-), so a stray one cannot keep it.
exec 9>>"$RUN_DIR/run.lock"
if ! flock -n 9; then
	echo "make run is already running with $RUN_DIR (process $(cat "$RUN_DIR/run.pid" 2>/dev/null || echo '?')); stop it with Ctrl-C in its shell, or use another RUN_DIR." >&2
	exit 1
fi

# taken ADDR succeeds when something accepts connections on ADDR (host:port). curl's exit
# status 7 means the connection was refused, so nothing listens there.
taken() {
	rc=0
	curl -gs -o /dev/null --max-time 2 "http://$1/" || rc=$?
	[ "$rc" -ne 7 ]
}
# Every address this run listens on: the relay, its TURN ports (TCP; UDP on TURN_ADDR too),
# camsim's control API and, for each camera, its HTTP, RTSP and HTTPS ports (consecutive,
# in that order).
addrs="$RELAY_ADDR $TURN_ADDR $TURNS_ADDR $CONTROL_ADDR"
i=0
while [ "$i" -lt $((3 * CAMERAS)) ]; do
	addrs="$addrs 127.0.0.1:$((CAM_PORT + i))"
	i=$((i + 1))
done
for a in $addrs; do
	if taken "$a"; then
		echo "$a is already in use (another make run?): stop what listens there, or choose other addresses (RELAY_ADDR, TURN_ADDR, TURNS_ADDR, CONTROL_ADDR, CAM_PORT)." >&2
		exit 1
	fi
done

echo $$ > "$RUN_DIR/run.pid"
# Keep the previous run's logs, one generation.
for f in relay camsim edgehost; do
	if [ -f "$RUN_DIR/$f.log" ]; then
		mv -f "$RUN_DIR/$f.log" "$RUN_DIR/$f.log.1"
	fi
done

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
	rm -f "$RUN_DIR/run.pid" "$RUN_DIR/cameras.json.new"
	echo "stopped."
}
trap stop INT TERM EXIT

# fail MESSAGE LOG: say what did not start and the last lines of its log, then stop.
fail() {
	echo "$1; the end of $2:" >&2
	tail -n 5 "$2" >&2 || true
	exit 1
}

# TURN on loopback needs nothing else: the relayed address is 127.0.0.1, and loopback
# peers are allowed because only this machine reaches it.
RELAY_ADMIN_PASSWORD=$ADMIN_PASSWORD "$BIN/relay" serve --data "$RUN_DIR/relay" --listen "$RELAY_ADDR" \
	--turn-udp-listen "$TURN_ADDR" --turn-tcp-listen "$TURN_ADDR" --turn-tls-listen "$TURNS_ADDR" \
	--log-level warn >"$RUN_DIR/relay.out" 2>"$RUN_DIR/relay.log" 9>&- &
relay_pid=$!
pids="$pids $relay_pid"
CA="$RUN_DIR/relay/ca.pem"
URL="https://$RELAY_ADDR"
# Wait for this relay to say it serves, not for any answer on the port.
n=0
until grep -q '^relay ready' "$RUN_DIR/relay.out"; do
	kill -0 "$relay_pid" 2>/dev/null || fail "the relay did not start" "$RUN_DIR/relay.log"
	n=$((n + 1))
	[ "$n" -le 300 ] || fail "the relay did not start within 30 s" "$RUN_DIR/relay.log"
	sleep 0.1
done

# cameras.json holds each camera's owner authentication key: readable by this user only.
# camsim writes it into a new file, which replaces the old one once every camera answers.
(umask 077; : > "$RUN_DIR/cameras.json.new")
"$BIN/camsim" --count "$CAMERAS" --listen "127.0.0.1:$CAM_PORT" --control "$CONTROL_ADDR" \
	--state "$RUN_DIR/camsim" > "$RUN_DIR/cameras.json.new" 2>"$RUN_DIR/camsim.log" 9>&- &
camsim_pid=$!
pids="$pids $camsim_pid"
n=0
until [ "$(wc -l < "$RUN_DIR/cameras.json.new")" -ge "$CAMERAS" ]; do
	kill -0 "$camsim_pid" 2>/dev/null || fail "the cameras did not start" "$RUN_DIR/camsim.log"
	n=$((n + 1))
	[ "$n" -le 600 ] || fail "the cameras did not start within 60 s" "$RUN_DIR/camsim.log"
	sleep 0.1
done
mv -f "$RUN_DIR/cameras.json.new" "$RUN_DIR/cameras.json"
SERIALS=$(sed -n 's/.*"serial":"\([^"]*\)".*/\1/p' "$RUN_DIR/cameras.json")

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
	2>"$RUN_DIR/edgehost.log" 9>&- &
pids="$pids $!"

# Wait until the relay knows every camera (found by the edge host, or onboarded before),
# so that the commands below work as soon as they are shown.
known=""
n=0
while :; do
	found=$("$BIN/relay" edgehosts discovered --org default --edgehost "$EDGEHOST" --all --json 2>/dev/null || true)
	known=""
	for s in $SERIALS; do
		case $found in *"\"$s\""*) known="$known $s" ;; esac
	done
	[ "$(echo $known | wc -w)" -lt "$CAMERAS" ] || break
	n=$((n + 1))
	[ "$n" -le 300 ] || { echo "the edge host has not found every camera within 30 s; see $RUN_DIR/edgehost.log" >&2; break; }
	sleep 0.1
done
managed=$("$BIN/relay" devices list --org default --status onboarded --json | tr ',' '\n' |
	sed -n 's/.*"serial":"\([^"]*\)".*/\1/p')
fresh=""
for s in $SERIALS; do
	case " $(echo $managed) " in *" $s "*) ;; *) fresh="$fresh --serial $s" ;; esac
done
first=$(echo $managed | cut -d' ' -f1)

cat <<INFO

camcloud is running on loopback.

  relay API    $URL/api/v1   (CA: $CA)
  login        admin@localhost / $ADMIN_PASSWORD
  cameras      $CAMERAS simulated, VAPIX from http://127.0.0.1:$CAM_PORT (root / pass), list in $RUN_DIR/cameras.json
  camsim       control API http://$CONTROL_ADDR
  logs         $RUN_DIR/*.log (the previous run's in *.log.1)
INFO
if curl -fsS --cacert "$CA" -o /dev/null "$URL/ui/" 2>/dev/null; then
	echo "  console      $URL/ui/"
fi
cat <<INFO

Next, in another shell (XDG_CONFIG_HOME keeps the relay login of this run):
  export XDG_CONFIG_HOME=$XDG_CONFIG_HOME
INFO
if [ -n "$fresh" ]; then
	cat <<INFO
  $BIN/relay edgehosts discovered --org default --edgehost $EDGEHOST
  CAMERA_PASSWORD=pass $BIN/relay edgehosts onboard --org default --edgehost $EDGEHOST$fresh --wait
INFO
fi
if [ -n "$first" ]; then
	cat <<INFO
  $BIN/relay devices list --org default
  $BIN/relay jobs create --org default --kind overlay --params '{"text":"Lobby"}' --all
and a snapshot of $first through the relay and the edge host (EdgeLink):
  TOKEN=\$(curl -s --cacert $CA -d grant_type=password -d username=admin@localhost --data-urlencode password@$RUN_DIR/admin-password $URL/api/v1/auth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  ORG=\$($BIN/relay orgs list | awk '\$2 == "default" {print \$1}')
  curl -fsS --cacert $CA -H "Authorization: Bearer \$TOKEN" -o $RUN_DIR/snap.jpg $URL/api/v1/orgs/\$ORG/devices/$first/vapix/axis-cgi/jpg/image.cgi
INFO
else
	echo "  $BIN/relay devices list --org default"
fi
cat <<INFO

Ctrl-C stops everything.
INFO
wait
