#!/usr/bin/env bash
# test/docker-test.sh (`make docker-test`): the Docker setup, tested without a Docker engine.
# With Debian's podman, buildah and podman-compose it builds docker/Dockerfile and
# docker/knot/Dockerfile, starts docker/compose.yaml, gets a certificate through it by
# dns-persist-01 (test/node/persist-client.js for ACME, scripts/persist-record.sh for the record),
# verifies the chain against the root from the management listener, runs the CI recipes' client
# job (docker/ci/client-job.sh) beside the image started as a service, then takes it all down.
#
# Nothing is pulled from a registry: the base image (debian:bookworm-slim) is made here with
# debootstrap from Debian's mirror and cached. Podman runs with its own configuration and image
# store under $COBBLE_DOCKER_STATE (default /var/tmp/cobble-docker-test; delete it to start
# afresh), so it neither sees nor touches other containers or images on the machine. The builds
# use this host's APT sources. Every step has a timeout and so does the whole run
# (DOCKER_TEST_TIMEOUT, default 1500 s); on any exit the containers and the network are removed.
#   DOCKER_TEST_NETWORK=bridge|host   force the compose network mode (default: bridge, then host)
#   DEBIAN_MIRROR=URL                 the mirror debootstrap uses (default http://deb.debian.org/debian)
set -euo pipefail

if [ -z "${_DOCKER_TEST_INNER:-}" ]; then
	export _DOCKER_TEST_INNER=1
	exec timeout -k 60 "${DOCKER_TEST_TIMEOUT:-1500}" bash "$0" "$@"
fi

cd "$(dirname "$0")/.."
. test/lib/tap.sh
WAIT_FOR_POLL=0.5 # each poll runs podman
STATE=${COBBLE_DOCKER_STATE:-/var/tmp/cobble-docker-test}
BASE_IMAGE=docker.io/library/debian:bookworm-slim
PROJECT=cobbledockertest
START=$(date +%s)
WORK=
PROJECT_UP=0
RUN_PID=

say() { printf '# [%3ds] %s\n' $(($(date +%s) - START)) "$*"; }
fatal() {
	notok "$*"
	exit 1
}
# run TIMEOUT LOGNAME CMD...: a step whose output goes to $WORK/LOGNAME.log (shown on failure).
run() {
	local t=$1 log=$WORK/$2.log
	shift 2
	local rc=0
	# in the background so that a TERM (the overall timeout) is handled at once, not after it
	timeout -k 10 "$t" "$@" >"$log" 2>&1 &
	RUN_PID=$!
	wait "$RUN_PID" || rc=$?
	RUN_PID=
	[ "$rc" = 0 ] && return 0
	echo "# $* failed (exit $rc$([ "$rc" = 124 ] && echo ", timed out after ${t}s")); its output:"
	tail -40 "$log" | sed 's/^/#   /'
	return "$rc"
}

pm() { timeout -k 5 "${PM_TIMEOUT:-120}" podman "$@"; }
COMPOSE_FILE=
COMPOSE_PODMAN=podman

compose() { timeout -k 10 "${COMPOSE_TIMEOUT:-180}" podman-compose --podman-path "$COMPOSE_PODMAN" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

# down: everything of the project, whatever state it is in.
down() {
	if [ -n "$COMPOSE_FILE" ] && [ -f "$COMPOSE_FILE" ]; then
		COMPOSE_TIMEOUT=120 compose down -t 10 >>"$WORK/down.log" 2>&1 || true
	fi
	local ids
	ids=$(pm ps -aq --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null || true)
	[ -z "$ids" ] || pm rm -f -t 5 $ids >>"$WORK/down.log" 2>&1 || true
	pm network exists "${PROJECT}_default" 2>/dev/null && pm network rm -f "${PROJECT}_default" >>"$WORK/down.log" 2>&1 || true
	# CNI's address bookkeeping for that network, which podman leaves behind
	pm network exists "${PROJECT}_default" 2>/dev/null || rm -rf "/var/lib/cni/networks/${PROJECT}_default"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	exec 1>&8 2>&9 # a signal may come while a function's output is redirected
	if [ -n "${RUN_PID:-}" ]; then # a step still running: its timeout leads its process group
		kill -TERM -- "-$RUN_PID" 2>/dev/null || true
		sleep 1
		kill -KILL -- "-$RUN_PID" 2>/dev/null || true
	fi
	if [ "$PROJECT_UP" = 1 ]; then
		say "cleaning up"
		down
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	if [ "$rc" -ne 0 ] && [ "$_fails" -eq 0 ]; then
		notok "docker-test stopped early (exit $rc$([ "$rc" = 143 ] && echo ": DOCKER_TEST_TIMEOUT or a signal"))"
	fi
	echo "docker-test: $_passes passed, $_fails failed"
	[ "$_fails" -eq 0 ] && exit "$rc"
	exit 1
}
exec 8>&1 9>&2
trap cleanup EXIT
trap 'exit 143' INT TERM

WORK=$(mktemp -d /tmp/cobble-docker-test.XXXXXX)

# rootful podman (as CI and the developers' machines run): rootless needs a setup of its own
[ "$(id -u)" -eq 0 ] || fatal "run as root: test/docker-test.sh uses rootful podman"

# ---- 1. what the test needs on the host (idempotent) ----
pkgs=(podman buildah debootstrap fuse-overlayfs uidmap slirp4netns runc podman-compose catatonit
	golang-github-containernetworking-plugin-dnsname openssl curl ca-certificates python3 lego jq)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	run 300 apt-update apt-get update -qq || fatal "apt-get update"
	run 600 apt-install apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		fatal "apt-get install ${missing[*]}"
fi
if [ ! -d test/node/node_modules ]; then
	say "npm ci in test/node"
	run 300 npm-ci npm ci --prefix test/node --no-audit --no-fund --loglevel=error || fatal "npm ci --prefix test/node"
fi

# ---- 2. podman of our own: runc with explicit ulimits, cgroupfs, a private image store ----
mkdir -p "$STATE/storage" "$STATE/run"
cat >"$STATE/containers.conf" <<EOF
# written by test/docker-test.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$STATE/storage.conf" <<EOF
# written by test/docker-test.sh
[storage]
driver = "overlay"
graphroot = "$STATE/storage"
runroot = "$STATE/run"
EOF
export CONTAINERS_CONF=$STATE/containers.conf CONTAINERS_STORAGE_CONF=$STATE/storage.conf
export COBBLE_ENGINE=podman COMPOSE_PROJECT_NAME=$PROJECT

# leftovers of an interrupted earlier run
PROJECT_UP=1
down

# ---- 3. the base image, made once with debootstrap ----
if pm image exists "$BASE_IMAGE"; then
	say "base image $BASE_IMAGE: cached"
else
	say "making $BASE_IMAGE with debootstrap (minbase bookworm)"
	rootfs=$STATE/rootfs
	rm -rf "$rootfs"
	run 600 debootstrap debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" ||
		fatal "debootstrap bookworm"
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
	run 300 import bash -c "tar -C '$rootfs' -c . | podman import --change 'CMD [\"bash\"]' - '$BASE_IMAGE'" ||
		fatal "podman import"
	rm -rf "$rootfs"
fi
pm image exists "$BASE_IMAGE" && ok "base image $BASE_IMAGE" || fatal "base image $BASE_IMAGE"

# ---- 4. the images, built from a copy of the tree with the host's APT sources ----
CTX=$WORK/ctx
mkdir -p "$CTX"
cp -a Makefile common server docker "$CTX/"
# The host's sources, each file kept when its keys (Signed-By) are Debian's, which the base has.
apt_ok() { ! grep -iqE 'signed-by' "$1" || ! grep -ioE 'signed-by[:=] *[^] ]+' "$1" | grep -vq 'debian-archive'; }
nsrc=0
if [ -s /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb' /etc/apt/sources.list && apt_ok /etc/apt/sources.list; then
	cp /etc/apt/sources.list "$CTX/docker/apt/host-sources.list" && nsrc=$((nsrc + 1))
fi
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	if apt_ok "$f"; then cp "$f" "$CTX/docker/apt/" && nsrc=$((nsrc + 1)); else say "not using $f (keys the image lacks)"; fi
done
say "building with $nsrc APT source file(s) of this host"

build() { # build NAME DOCKERFILE
	run 900 "build-$1" podman build --network host --pull=never --format docker \
		--build-arg "BASE=$BASE_IMAGE" -f "$CTX/$2" -t "$1" "$CTX"
}
t0=$(date +%s)
build cobble docker/Dockerfile && ok "image cobble built ($(($(date +%s) - t0)) s)" || fatal "podman build docker/Dockerfile"
t0=$(date +%s)
build cobble-knot docker/knot/Dockerfile && ok "image cobble-knot built ($(($(date +%s) - t0)) s)" ||
	fatal "podman build docker/knot/Dockerfile"
say "image sizes: $(pm images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'cobble(-knot)?:latest' | tr '\n' ' ')"
# the cache of earlier builds' layers, bounded
pm image prune -f --filter until=168h >/dev/null 2>&1 || true

# ---- 5. compose up ----
# free_ports N: N ports free on 127.0.0.1 for TCP and UDP
free_ports() {
	python3 -c '
import socket, sys
s = []
while len(s) < int(sys.argv[1]):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p))
    except OSError: continue
    s.append((t, u, p))
print(*[p for _, _, p in s])' "$1"
}
read -r ACME_PORT MGMT_PORT DNS_PORT < <(free_ports 3)
export COBBLE_ACME_PORT=$ACME_PORT COBBLE_MANAGEMENT_PORT=$MGMT_PORT COBBLE_DNS_PORT=$DNS_PORT
export COBBLE_VA_NOSLEEP=1 COBBLE_WFE_NONCEREJECT=0 # passed through by compose.yaml
unset COBBLE_VA_ALWAYS_VALID COBBLE_VA_SLEEPTIME COBBLE_AUTHZREUSE COBBLE_CHAIN_LENGTH COBBLE_ALTERNATE_ROOTS
COBBLE_CTR=${PROJECT}_cobble_1
KNOT_CTR=${PROJECT}_knot_1
BUNDLE=$WORK/cobble-ca.pem

# The same services on the host's network (where bridge networking does not work): loopback
# addresses and the free ports above instead of published ports.
host_compose() {
	cat >"$CTX/docker/compose.host.yaml" <<EOF
services:
  knot:
    image: cobble-knot
    init: true
    network_mode: host
    environment:
      KNOT_ZONES: example.test
      KNOT_LISTEN: 127.0.0.1@$DNS_PORT
  cobble:
    image: cobble
    init: true
    network_mode: host
    depends_on:
      - knot
    command: ["-listen", "127.0.0.1:$ACME_PORT", "-management", "127.0.0.1:$MGMT_PORT",
              "-ca-bundle-out", "/tmp/cobble-ca.pem", "-dnsserver", "127.0.0.1:$DNS_PORT"]
    environment:
      - COBBLE_VA_NOSLEEP
      - COBBLE_WFE_NONCEREJECT
EOF
	# podman-compose 1.0.3 adds "--net PROJECT_default --network-alias SERVICE" even with
	# network_mode: host, which podman refuses: it runs podman through this filter then.
	cat >"$WORK/podman-hostnet" <<'WRAP'
#!/usr/bin/env bash
out=() host=0 skip=0
for a in "$@"; do [ "$a" = "--network" ] && host=1; done
for a in "$@"; do
	if [ "$skip" = 1 ]; then skip=0; continue; fi
	if [ "$host" = 1 ] && { [ "$a" = "--net" ] || [ "$a" = "--network-alias" ]; }; then skip=1; continue; fi
	out+=("$a")
done
exec podman "${out[@]}"
WRAP
	chmod +x "$WORK/podman-hostnet"
	echo "$CTX/docker/compose.host.yaml"
}

acme_up() { curl -fsS --max-time 3 --cacert "$BUNDLE" "https://localhost:$ACME_PORT/dir" -o /dev/null; }
bundle_out() { pm cp "$COBBLE_CTR:/tmp/cobble-ca.pem" "$BUNDLE" && [ -s "$BUNDLE" ]; }
knot_up() { pm exec "$KNOT_CTR" kdig @127.0.0.1 -p "$1" +short +time=1 +retry=0 example.test SOA | grep -q ns.cobble.invalid; }

up() { # up MODE: start the compose setup; 0 once cobble answers and Knot serves example.test
	local mode=$1 dport=53
	if [ "$mode" = bridge ]; then
		COMPOSE_FILE=$CTX/docker/compose.yaml
	else
		COMPOSE_FILE=$(host_compose)
		COMPOSE_PODMAN=$WORK/podman-hostnet
		dport=$DNS_PORT
	fi
	say "podman-compose up ($mode networking; ACME :$ACME_PORT, management :$MGMT_PORT, DNS :$DNS_PORT)"
	run 180 "up-$mode" podman-compose --podman-path "$COMPOSE_PODMAN" -p "$PROJECT" -f "$COMPOSE_FILE" up -d --no-build ||
		return 1
	wait_for 60 bundle_out || { echo "# no CA bundle in the cobble container"; return 1; }
	wait_for 60 acme_up || { echo "# cobble does not answer on https://localhost:$ACME_PORT/dir"; return 1; }
	wait_for 60 knot_up "$dport" || { echo "# Knot does not serve example.test"; return 1; }
}
show_logs() {
	local c
	for c in "$COBBLE_CTR" "$KNOT_CTR"; do
		echo "# logs of $c:"
		pm logs "$c" 2>&1 | tail -25 | sed 's/^/#   /' || true
	done
}

NETMODE=
for mode in ${DOCKER_TEST_NETWORK:-bridge host}; do
	if up "$mode"; then
		NETMODE=$mode
		break
	fi
	show_logs
	down
done
[ -n "$NETMODE" ] || fatal "compose setup starts (tried: ${DOCKER_TEST_NETWORK:-bridge host})"
ok "compose setup up with $NETMODE networking; CA bundle taken out with podman cp; ACME directory answers"

if [ "$NETMODE" = bridge ]; then
	# health checks do not run by themselves here (no systemd): run the images' own once
	if pm healthcheck run "$COBBLE_CTR" >/dev/null 2>&1 && pm healthcheck run "$KNOT_CTR" >/dev/null 2>&1; then
		ok "HEALTHCHECK of both images passes"
	else
		notok "HEALTHCHECK of both images passes"
	fi
	if pm logs "$COBBLE_CTR" 2>&1 | grep -qE 'DNS for validation: [0-9.]+:53'; then
		ok "cobble's -dnsserver knot:53 resolved to Knot's address"
	else
		notok "cobble's -dnsserver knot:53 resolved to Knot's address"
	fi
	if [ "$(pm exec "$COBBLE_CTR" id -u 2>/dev/null)" = 10001 ]; then ok "cobble runs as a non-root user"; else notok "cobble runs as a non-root user"; fi
fi

# ---- 6. a certificate by dns-persist-01 ----
DIR_URL=https://localhost:$ACME_PORT/dir
client() { NODE_EXTRA_CA_CERTS=$BUNDLE timeout -k 5 120 node test/node/persist-client.js "$@" --directory "$DIR_URL"; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];process.stdout.write(v===undefined?"":typeof v==="string"?v:JSON.stringify(v))})' "$1"; }

out=$(client account --account-key "$WORK/acct.pem" 2>"$WORK/account.err") || { echo "# $out"; cat "$WORK/account.err"; show_logs; fatal "ACME account"; }
ACCT=$(json accountUrl <<<"$out")
case $ACCT in
"https://localhost:$ACME_PORT/acme/acct/"*) ok "account $ACCT" ;;
*) echo "# $out"; fatal "account URL" ;;
esac

if run 90 record-www scripts/persist-record.sh www.example.test "$ACCT" &&
	run 90 record-wild scripts/persist-record.sh '*.example.test' "$ACCT"; then
	ok "records published with scripts/persist-record.sh: $(sed -n 's/^published in zone example.test: //p' "$WORK/record-www.log")"
else
	show_logs
	fatal "scripts/persist-record.sh"
fi
# The records, through the published DNS port, as a client on the host sees them
if [ "$NETMODE" = bridge ] && command -v kdig >/dev/null 2>&1; then
	if kdig @127.0.0.1 -p "$DNS_PORT" +short +time=2 _validation-persist.www.example.test TXT | grep -qF "accounturi=$ACCT"; then
		ok "Knot serves the record on 127.0.0.1:$DNS_PORT"
	else
		notok "Knot serves the record on 127.0.0.1:$DNS_PORT"
	fi
fi

out=$(client order --account-key "$WORK/acct.pem" --identifiers 'www.example.test,*.example.test' \
	--cert-out "$WORK/chain.pem" 2>"$WORK/order.err") && rc=0 || rc=$?
if [ "$rc" = 0 ] && [ -s "$WORK/chain.pem" ]; then
	ok "order for www.example.test and *.example.test valid by dns-persist-01"
else
	echo "# $out"
	sed 's/^/# /' "$WORK/order.err" | tail -10
	show_logs
	fatal "order by dns-persist-01"
fi

# ---- 7. the chain, against the root from the management listener ----
if curl -fsS --max-time 10 --cacert "$BUNDLE" "https://localhost:$MGMT_PORT/roots/0" -o "$WORK/root.pem" &&
	awk -v d="$WORK" '/BEGIN CERT/{n++} n{print > (d "/cert" n ".pem")}' "$WORK/chain.pem" &&
	v=$(timeout 30 openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/cert2.pem" "$WORK/cert1.pem" 2>&1) &&
	timeout 30 openssl x509 -in "$WORK/cert1.pem" -noout -ext subjectAltName | grep -q 'DNS:\*\.example\.test'; then
	ok "openssl verify against /roots/0: ${v##*: }; SANs: $(timeout 30 openssl x509 -in "$WORK/cert1.pem" -noout -ext subjectAltName | tail -1 | sed 's/^ *//')"
else
	echo "# ${v:-}"
	notok "chain verifies against the management listener's root"
fi

# ---- 8. the validator really asks Knot: a name without a record fails ----
out=$(client order --account-key "$WORK/acct.pem" --identifiers nope.example.test --expect invalid 2>>"$WORK/order.err") && rc=0 || rc=$?
if [ "$rc" = 0 ]; then
	ok "order for nope.example.test (no record) invalid: $(json error <<<"$out" | head -c 200)"
else
	echo "# $out"
	notok "order for a name without a record is invalid"
fi

# ---- 9. the CI recipes' client job beside the image run as a service (docker/ci/) ----
read -r CI_ACME CI_MGMT CI_HTTP < <(free_ports 3)
if pm run -d --name "${PROJECT}_ci_cobble" --label "io.podman.compose.project=$PROJECT" --network host \
	-e COBBLE_VA_ALWAYS_VALID=1 -e COBBLE_WFE_NONCEREJECT=5 cobble -listen "127.0.0.1:$CI_ACME" \
	-management "127.0.0.1:$CI_MGMT" -ca-bundle-out /tmp/cobble-ca.pem >"$WORK/ci-run.log" 2>&1 &&
	run 180 ci-job env COBBLE_HOST=localhost COBBLE_ACME_PORT="$CI_ACME" COBBLE_MANAGEMENT_PORT="$CI_MGMT" \
		CI_HTTP_PORT="$CI_HTTP" CI_OUT="$WORK/ci" bash docker/ci/client-job.sh; then
	ok "docker/ci/client-job.sh (the GitHub Actions and GitLab CI recipes' commands): $(tail -1 "$WORK/ci-job.log")"
else
	notok "docker/ci/client-job.sh against the cobble image run as a service"
	pm logs "${PROJECT}_ci_cobble" 2>&1 | tail -15 | sed 's/^/#   /' || true
fi
pm rm -f -t 5 "${PROJECT}_ci_cobble" >/dev/null 2>&1 || true

# ---- 10. down: everything stops promptly ----
t0=$(date +%s)
if run 120 down-compose podman-compose --podman-path "$COMPOSE_PODMAN" -p "$PROJECT" -f "$COMPOSE_FILE" down -t 10; then
	left=$(pm ps -aq --filter "label=io.podman.compose.project=$PROJECT")
	if [ -z "$left" ]; then
		ok "podman-compose down in $(($(date +%s) - t0)) s, no container left"
	else
		notok "containers left after down: $left"
	fi
else
	notok "podman-compose down"
fi
down
PROJECT_UP=0
say "done in $(($(date +%s) - START)) s"
