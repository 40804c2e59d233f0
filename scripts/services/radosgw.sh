#!/usr/bin/env bash
# radosgw.sh: a single-node Ceph cluster with an S3 gateway on 127.0.0.1,
# for the S3 tests (facts: shared/notes/test-services.md).
#
#   radosgw.sh start DIR      install if missing, create and start the cluster
#                             under DIR (one mon, one memstore OSD, radosgw on a
#                             free port), create the test user, wait until a
#                             signed request succeeds, write DIR/env
#   radosgw.sh stop DIR       stop every daemon by its pid file, wait for exit
#   radosgw.sh env DIR        print DIR/env (export lines: endpoint, keys)
#   radosgw.sh start-gw DIR [NAME]  start a gateway (default "gw") on its own
#                             port, chosen the first time; prints its endpoint.
#                             Fault tests use a second gateway of their own,
#                             so that stopping it leaves the other tests alone.
#   radosgw.sh stop-gw DIR [NAME]   stop that gateway only
#
# The data lives in memory (memstore, DSB_RADOSGW_BYTES, 1 GiB by default):
# keep what the tests store small; the OSD uses about twice what it holds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/deps.sh"

ACCESS_KEY=DSBTESTACCESSKEY0001
SECRET_KEY=dsbtest-secret-key-not-for-production-0001
RADOSGW_PACKAGES=(radosgw ceph-mon ceph-osd uuid-runtime python3 awscli)

die() {
	echo "radosgw.sh: $*" >&2
	exit 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ceph_() {
	timeout 60 ceph -c "$dir/ceph.conf" "$@"
}

write_conf() {
	local fsid=$1 monport=$2 port=$3
	cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
keyring = $dir/admin.keyring
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
[osd]
keyring = $dir/osd/\$name/keyring
osd objectstore = memstore
memstore device bytes = ${DSB_RADOSGW_BYTES:-1073741824}
osd max object size = 134217728
EOF
	gw_conf gw "$port"
}

# gw_conf NAME PORT: the gateway's section in ceph.conf, once.
gw_conf() {
	grep -q "^\[client.rgw.$1\]" "$dir/ceph.conf" && return 0
	cat >>"$dir/ceph.conf" <<EOF
[client.rgw.$1]
keyring = $dir/rgw.$1.keyring
rgw frontends = beast endpoint=127.0.0.1:$2
rgw data = $dir/rgw
rgw enable usage log = false
EOF
	echo "$2" >"$dir/port.$1"
}

start_mon() {
	local fsid=$1 monport=$2
	ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$dir/admin.keyring" --gen-key -n client.admin \
	    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
	ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/admin.keyring" >/dev/null
	monmaptool --create --addv a "[v2:127.0.0.1:$monport]" --fsid "$fsid" "$dir/monmap" >/dev/null
	ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
	ceph-mon -c "$dir/ceph.conf" -i a
}

start_osd() {
	local uuid id
	uuid=$(uuidgen)
	id=$(ceph_ osd new "$uuid")
	mkdir -p "$dir/osd/osd.$id"
	ceph-osd -c "$dir/ceph.conf" -i "$id" --no-mon-config --mkfs --mkkey --osd-uuid "$uuid" \
	    >"$dir/log/osd-mkfs.log" 2>&1 || { cat "$dir/log/osd-mkfs.log" >&2; die "ceph-osd --mkfs failed"; }
	ceph_ auth add "osd.$id" osd 'allow *' mon 'allow profile osd' -i "$dir/osd/osd.$id/keyring" >/dev/null 2>&1
	ceph_ osd crush add "osd.$id" 1.0 root=default >/dev/null 2>&1
	ceph-osd -c "$dir/ceph.conf" -i "$id"
}

# start_gw NAME
start_gw() {
	[ -f "$dir/rgw.$1.keyring" ] || ceph_ auth get-or-create "client.rgw.$1" mon 'allow rw' \
	    osd 'allow rwx' -o "$dir/rgw.$1.keyring" >/dev/null 2>&1
	radosgw -c "$dir/ceph.conf" -n "client.rgw.$1" >>"$dir/log/daemons.out" 2>&1
}

# s3_request METHOD PATH: a SigV4-signed request to the gateway (python3,
# no other client); prints the HTTP status.
s3_request() {
	RGW_AK=$ACCESS_KEY RGW_SK=$SECRET_KEY python3 - "$1" "$2" "$endpoint" <<'EOF'
import datetime, hashlib, hmac, os, sys, urllib.request, urllib.error
method, path, endpoint = sys.argv[1:4]
ak, sk = os.environ["RGW_AK"], os.environ["RGW_SK"]
host = endpoint.split("://", 1)[1]
now = datetime.datetime.utcnow()
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
ph = hashlib.sha256(b"").hexdigest()
creq = "\n".join([method, path, "", "host:" + host, "x-amz-content-sha256:" + ph,
                  "x-amz-date:" + amz, "", "host;x-amz-content-sha256;x-amz-date", ph])
scope = day + "/us-east-1/s3/aws4_request"
sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
k = ("AWS4" + sk).encode()
for part in (day, "us-east-1", "s3", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(endpoint + path, method=method, data=b"" if method == "PUT" else None)
req.add_header("x-amz-date", amz)
req.add_header("x-amz-content-sha256", ph)
req.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders="
               "host;x-amz-content-sha256;x-amz-date, Signature=%s" % (ak, scope, sig))
try:
    print(urllib.request.urlopen(req, timeout=30).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
EOF
}

# wait_for CMD...: retry for up to 60 s
wait_for() {
	local i
	for i in $(seq 1 120); do
		"$@" && return 0
		sleep 0.5
	done
	return 1
}

# gw_answers: any HTTP answer (403 before the user exists)
gw_answers() {
	[ "$(s3_request GET /)" != 0 ]
}

bucket_created() {
	[ "$(s3_request PUT /warmup)" = 200 ]
}

write_env() {
	cat >"$dir/env" <<EOF
export DSB_RADOSGW_DIR='$dir'
export DSB_S3_ENDPOINT='$endpoint'
export AWS_ACCESS_KEY_ID='$ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
}

cmd_start() {
	local fsid monport port t0=$SECONDS
	if [ -f "$dir/env" ] && [ -f "$dir/run/client.rgw.gw.pid" ] && kill -0 "$(cat "$dir/run/client.rgw.gw.pid")" 2>/dev/null; then
		echo "radosgw.sh: already running in $dir"
		return 0
	fi
	dsb_install_packages "${RADOSGW_PACKAGES[@]}"
	cmd_stop 2>/dev/null || true
	rm -rf "$dir"
	mkdir -p "$dir"/{run,log,mon,osd,rgw}
	dir=$(cd "$dir" && pwd)
	fsid=$(uuidgen)
	monport=$(free_port)
	port=$(free_port)
	endpoint="http://127.0.0.1:$port"
	write_conf "$fsid" "$monport" "$port"
	start_mon "$fsid" "$monport" >>"$dir/log/daemons.out" 2>&1
	wait_for ceph_ -s >/dev/null 2>&1 || die "the monitor did not come up (see $dir/log)"
	start_osd >>"$dir/log/daemons.out" 2>&1
	start_gw gw
	wait_for gw_answers || die "radosgw did not answer on $endpoint (see $dir/log)"
	timeout 60 radosgw-admin -c "$dir/ceph.conf" user create --uid=dsbtest --display-name="dsbackup tests" \
	    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
	# the first bucket creates the data pools (~4 s): do it now, not in a test
	wait_for bucket_created || die "creating a bucket failed (see $dir/log)"
	write_env
	echo "radosgw.sh: ready at $endpoint after $((SECONDS - t0)) s (env: $dir/env)"
}

# stop_pidfile FILE: TERM the daemon, wait up to 20 s, then KILL.
stop_pidfile() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 80); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -KILL "$pid" 2>/dev/null || true
		for i in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
	fi
	rm -f "$f"
}

cmd_stop() {
	local f
	[ -d "$dir/run" ] || return 0
	for f in "$dir"/run/client.rgw.*.pid "$dir"/run/osd.*.pid; do
		[ -e "$f" ] && stop_pidfile "$f"
	done
	stop_pidfile "$dir/run/mon.a.pid"
	echo "radosgw.sh: stopped ($dir)"
}

cmd_stop_gw() {
	stop_pidfile "$dir/run/client.rgw.$name.pid"
}

cmd_start_gw() {
	local port
	[ -f "$dir/ceph.conf" ] || die "no cluster in $dir (radosgw.sh start first)"
	[ -f "$dir/port.$name" ] || gw_conf "$name" "$(free_port)"
	port=$(cat "$dir/port.$name")
	endpoint="http://127.0.0.1:$port"
	if ! { [ -f "$dir/run/client.rgw.$name.pid" ] &&
	    kill -0 "$(cat "$dir/run/client.rgw.$name.pid")" 2>/dev/null; }; then
		start_gw "$name"
	fi
	wait_for gw_answers || die "radosgw $name did not answer on $endpoint"
	echo "$endpoint"
}

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: radosgw.sh start|stop|env|start-gw|stop-gw DIR [NAME]"
dir=$2
name=${3:-gw}
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
env) cat "$dir/env" ;;
stop-gw) cmd_stop_gw ;;
start-gw) cmd_start_gw ;;
*) die "unknown command $1" ;;
esac
