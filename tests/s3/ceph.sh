# Sourced by tests/cli/t_remote_s3.sh and bench/s3.sh: installs (apt, as
# root) and starts a throw-away one-node Ceph cluster with a RADOS Gateway
# on 127.0.0.1 in a temporary folder, and tears it down. Functions:
#   ceph_install        -> 0 when the binaries are there (installs if root)
#   ceph_start DIR      -> sets RGW_PORT, RGW_ENDPOINT, S3 keys; 0 when up
#                          (CEPH_MEMSTORE_BYTES: the memstore size, default 2 GiB)
#   ceph_stop           -> kills what ceph_start started, by pid
#   rgw_kill / rgw_restart  fault injection on the gateway alone
CEPH_PACKAGES="ceph-mon ceph-osd ceph-mgr radosgw ceph-common python3-boto3"
CEPH_PIDS=""

ceph_install() {
	local missing="" p
	for p in $CEPH_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || { echo "ceph: missing packages:$missing (run as root to install)" >&2; return 1; }
	echo "installing:$missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
	local t=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge $((t * 5)) ] && return 1
		sleep 0.2
	done
}

ceph_start() {
	CEPH_DIR=$1
	local fsid mon_port
	mkdir -p "$CEPH_DIR"/{mon,osd,mgr,run,log,rgw}
	fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	mon_port=$(free_port)
	RGW_PORT=$(free_port)
	RGW_ENDPOINT="http://127.0.0.1:$RGW_PORT"
	S3_ACCESS=P4REGTESTACCESSKEY01
	S3_SECRET=p4regtestsecretkey0123456789abcdefghijkl
	CEPH_CONF="$CEPH_DIR/ceph.conf"
	cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms bind ipv6 = false
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 2000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-2147483648}
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
keyring = $CEPH_DIR/keyring
mon data = $CEPH_DIR/mon/\$name
osd data = $CEPH_DIR/osd/\$name
mgr data = $CEPH_DIR/mgr/\$name
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $CEPH_DIR/rgw
rgw dns name = 127.0.0.1
rgw thread pool size = 64
CONF
	ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null || return 1
	monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$CEPH_DIR/monmap" >/dev/null || return 1
	ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring" || return 1
	ceph-mon -c "$CEPH_CONF" -i a || return 1
	CEPH_PIDS="$CEPH_PIDS $(cat "$CEPH_DIR/run/mon.a.pid" 2>/dev/null)"
	wait_for 20 ceph -c "$CEPH_CONF" --connect-timeout 2 mon stat || { echo "ceph: monitor did not start" >&2; return 1; }
	CEPH_PIDS="$(cat "$CEPH_DIR/run/mon.a.pid")"
	ceph -c "$CEPH_CONF" osd create >/dev/null || return 1
	mkdir -p "$CEPH_DIR/osd/osd.0"
	ceph-osd -c "$CEPH_CONF" -i 0 --mkfs >/dev/null 2>&1 || { echo "ceph: osd mkfs failed" >&2; return 1; }
	ceph-osd -c "$CEPH_CONF" -i 0 || return 1
	mkdir -p "$CEPH_DIR/mgr/mgr.x"
	ceph-mgr -c "$CEPH_CONF" -i x || return 1
	wait_for 30 sh -c "ceph -c '$CEPH_CONF' osd stat | grep -q '1 up'" || { echo "ceph: osd did not come up" >&2; return 1; }
	CEPH_PIDS="$CEPH_PIDS $(cat "$CEPH_DIR/run/osd.0.pid") $(cat "$CEPH_DIR/run/mgr.x.pid" 2>/dev/null)"
	rgw_start || return 1
	radosgw-admin -c "$CEPH_CONF" user create --uid=p4reg --display-name=p4reg \
		--access-key="$S3_ACCESS" --secret="$S3_SECRET" >/dev/null || { echo "ceph: user create failed" >&2; return 1; }
}

rgw_start() {
	radosgw -c "$CEPH_CONF" -n client.rgw || return 1
	wait_for 60 curl -sf -o /dev/null "$RGW_ENDPOINT" || { echo "ceph: radosgw did not answer" >&2; return 1; }
	RGW_PID=$(cat "$CEPH_DIR/run/client.rgw.pid")
}

rgw_kill() { [ -n "${RGW_PID:-}" ] && kill -9 "$RGW_PID" 2>/dev/null; RGW_PID=""; sleep 0.3; }

ceph_stop() {
	local p
	rgw_kill
	for p in $CEPH_PIDS; do kill -9 "$p" 2>/dev/null; done
	CEPH_PIDS=""
}

# ceph_up TEST: for a CLI test: stops the cluster and removes ROOT_TMP
# and HOME on exit, installs and starts the cluster under ROOT_TMP/ceph,
# or exits 77 (ctest's SKIP_RETURN_CODE: reported as skipped, not passed)
# saying why.
ceph_up() {
	trap 'ceph_stop; chmod -R u+w "$ROOT_TMP" 2>/dev/null; rm -rf "$ROOT_TMP" "$HOME"' EXIT
	if ! ceph_install; then
		echo "SKIP $1: Ceph packages are not installed and cannot be installed here" >&2
		exit 77
	fi
	if ! ceph_start "$ROOT_TMP/ceph"; then
		echo "SKIP $1: the Ceph cluster did not start; logs:" >&2
		tail -5 "$ROOT_TMP"/ceph/log/*.log >&2 2>/dev/null
		exit 77
	fi
}
