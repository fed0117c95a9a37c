#!/usr/bin/env bash
# Build deploy/Dockerfile and check the image end to end against a real Docker daemon:
#   deploy/check_image.sh [--no-build] [IMAGE]            (IMAGE defaults to runlocalai-bot:check)
#   BASE_IMAGE=local/python:3.11-slim deploy/check_image.sh runlocalai-bot:local
#   NO_CACHE=1 ...                  build without the layer cache (a cold build time)
#
# 1. builds the image from the repository root (BASE_IMAGE, when set, is passed as --build-arg);
#    --no-build checks an existing image instead;
# 2. with no tokens, `docker run IMAGE` exits 2 with "nothing to start";
# 3. runs --discord-http as Kubernetes does (read-only root filesystem, /tmp a tmpfs, /data the
#    image's volume) with a throwaway Ed25519 key, waits for Docker's HEALTHCHECK to report healthy,
#    POSTs a signed PING (expects type 1) and a signed /about (type 4, with the catalog's counts),
#    checks the process runs as uid 10001, and times `docker stop` (SIGTERM: exit code 0 and the
#    graceful-shutdown log lines, well inside Docker's 10 s);
# 4. the HEALTHCHECK without HEALTH_PORT falls back to the HTTP port (short interval for speed).
#
# Needs a Docker daemon and nothing else on the host: the key pair, the signed requests and the free
# port come from the image's own Python. Every container uses --network=host and talks to
# 127.0.0.1 only (DISCORD_API_URL points at a closed local port). Not part of the test suite.
# Exits non-zero on the first failed check; prints the figures at the end.
set -euo pipefail

BUILD=1
if [ "${1:-}" = "--no-build" ]; then BUILD=0; shift; fi
IMAGE=${1:-runlocalai-bot:check}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONTAINERS=()

fail() { echo "check_image: FAIL: $*" >&2; exit 1; }
ok() { echo "check_image: ok: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || fail "no Docker daemon reachable"

# -- 1. build --------------------------------------------------------------------------------------
BUILD_S="(not built)"
if [ "$BUILD" = 1 ]; then
  args=(build -f "$ROOT/deploy/Dockerfile" -t "$IMAGE")
  [ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  [ "${NO_CACHE:-0}" = 1 ] && args+=(--no-cache)
  log=$(mktemp /tmp/check_image-build.XXXXXX)
  t0=$(now)
  if ! docker "${args[@]}" "$ROOT" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    fail "docker build failed (full log: $log)"
  fi
  BUILD_S=$(since "$t0")
  rm -f "$log"
  ok "built $IMAGE in ${BUILD_S}s"
fi
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "no image $IMAGE"
SIZE_MB=$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f", $1 / 1000000 }')
USER_=$(docker image inspect --format '{{.Config.User}}' "$IMAGE")
[ -n "$USER_" ] && [ "$USER_" != root ] && [ "$USER_" != 0 ] || fail "image runs as root (USER '$USER_')"
ok "image $IMAGE: ${SIZE_MB} MB, USER $USER_"

# Python inside the image, as a client on the host network (for keys, ports and signed requests).
py() { docker run --rm -i --network=host --entrypoint python "$@"; }

# -- 2. no tokens: the friendly refusal, exit code 2 ----------------------------------------------
set +e
out=$(docker run --rm "$IMAGE" 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] || fail "no tokens: exit code $rc, expected 2; output: $out"
grep -q "nothing to start" <<<"$out" || fail "no tokens: no 'nothing to start' message; output: $out"
ok "no tokens: exit code 2, \"nothing to start\""

# -- 3. Discord HTTP interactions ------------------------------------------------------------------
read -r SK PK < <(py "$IMAGE" -c '
from nacl.signing import SigningKey
key = SigningKey.generate()
print(key.encode().hex(), key.verify_key.encode().hex())')
[ -n "${PK:-}" ] || fail "could not make a key pair with the image's Python"
free_ports() {
  py "$IMAGE" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))'
}
read -r PORT OPS_PORT < <(free_ports)
[ -n "${OPS_PORT:-}" ] || fail "could not pick free ports"

t0=$(now)
CID=$(docker run -d --network=host --read-only --tmpfs /tmp \
  -e DISCORD_PUBLIC_KEY="$PK" -e DISCORD_APPLICATION_ID=1 -e DISCORD_API_URL=http://127.0.0.1:9/api \
  -e RUNLOCALAI_HOST=127.0.0.1 -e RUNLOCALAI_OPS_PORT="$OPS_PORT" -e HEALTH_PORT="$PORT" \
  "$IMAGE" --discord-http --port "$PORT")
CONTAINERS+=("$CID")

LISTEN_S=""
HEALTHY_S=""
deadline=$(( $(date +%s) + 120 ))   # the first probe runs one interval (30 s) after the start
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -z "$LISTEN_S" ] && docker logs "$CID" 2>&1 | grep -q "listening on"; then LISTEN_S=$(since "$t0"); fi
  status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$CID")
  if [ "$status" = healthy ]; then HEALTHY_S=$(since "$t0"); break; fi
  if [ "$(docker inspect --format '{{.State.Running}}' "$CID")" != true ]; then
    docker logs "$CID" >&2 || true
    fail "the --discord-http container exited"
  fi
  [ "$status" = unhealthy ] && { docker logs "$CID" >&2; fail "HEALTHCHECK reports unhealthy"; }
  sleep 0.1
done
[ -n "$HEALTHY_S" ] || { docker logs "$CID" >&2; fail "not healthy after 2 minutes (status: $status)"; }
ok "--discord-http listening after ${LISTEN_S:-?}s, HEALTHCHECK healthy after ${HEALTHY_S}s"

# Signed PING and /about; the answer to /about lists the catalog's counts, so the catalog loaded.
if ! answers=$(SK="$SK" PORT="$PORT" py -e SK -e PORT "$IMAGE" - 2>&1 <<'EOF'
import json, os, sys, time, urllib.request
from nacl.signing import SigningKey

key = SigningKey(bytes.fromhex(os.environ["SK"]))
url = f"http://127.0.0.1:{os.environ['PORT']}/interactions"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(payload):
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": stamp,
               "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex()}
    with opener.open(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=10) as r:
        return r.status, json.loads(r.read())


status, pong = post({"type": 1, "id": "1", "application_id": "1", "token": "t"})
assert status == 200 and pong == {"type": 1}, (status, pong)
user = {"id": "42", "username": "check"}
status, about = post({"type": 2, "id": "2", "application_id": "1", "token": "t", "guild_id": "5",
                      "channel_id": "6", "member": {"user": user, "permissions": "0"},
                      "data": {"id": "9", "name": "about", "type": 1}})
assert status == 200 and about.get("type") == 4, (status, about)
fields = {f["name"]: f["value"] for e in about["data"]["embeds"] for f in e.get("fields", [])}
assert "models" in fields.get("Catalog", ""), fields
print("PING -> type 1; /about -> type 4, catalog:", fields["Catalog"])
EOF
); then
  docker logs "$CID" >&2 || true
  fail "signed interactions: $answers"
fi
ok "$answers"

uid=$(docker exec "$CID" id -u)
[ "$uid" = 10001 ] || fail "the bot runs as uid $uid, expected 10001"
ok "the bot runs as uid $uid (read-only root filesystem)"

t0=$(now)
docker stop "$CID" >/dev/null
STOP_S=$(since "$t0")
code=$(docker inspect --format '{{.State.ExitCode}}' "$CID")
logs=$(docker logs "$CID" 2>&1)
[ "$code" = 0 ] || { echo "$logs" >&2; fail "docker stop: exit code $code (137: killed after the timeout)"; }
grep -q "shutting down" <<<"$logs" && grep -q "stopped" <<<"$logs" \
  || { echo "$logs" >&2; fail "docker stop: no graceful-shutdown lines in the log"; }
awk -v s="$STOP_S" 'BEGIN { exit !(s < 10) }' || fail "docker stop took ${STOP_S}s"
ok "docker stop (SIGTERM): exit code 0 in ${STOP_S}s, graceful shutdown logged"

# -- 4. HEALTHCHECK without HEALTH_PORT: the ops port is closed, the HTTP port answers --------------
read -r PORT OPS_PORT < <(free_ports)
CID2=$(docker run -d --network=host --health-interval=1s \
  -e DISCORD_PUBLIC_KEY="$PK" -e DISCORD_APPLICATION_ID=1 -e DISCORD_API_URL=http://127.0.0.1:9/api \
  -e RUNLOCALAI_HOST=127.0.0.1 -e RUNLOCALAI_PORT="$PORT" -e RUNLOCALAI_OPS_PORT="$OPS_PORT" \
  "$IMAGE" --discord-http)
CONTAINERS+=("$CID2")
status=""
deadline=$(( $(date +%s) + 30 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$CID2")
  [ "$status" = healthy ] && break
  sleep 0.1
done
[ "$status" = healthy ] || { docker logs "$CID2" >&2; fail "HEALTHCHECK without HEALTH_PORT: $status"; }
ok "HEALTHCHECK without HEALTH_PORT finds the HTTP port"
docker stop "$CID2" >/dev/null

echo
echo "image:            $IMAGE"
echo "image size:       ${SIZE_MB} MB"
echo "build time:       ${BUILD_S}s"
echo "listening after:  ${LISTEN_S:-?}s"
echo "healthy after:    ${HEALTHY_S}s (first HEALTHCHECK probe runs one interval after start)"
echo "docker stop:      ${STOP_S}s"
echo "check_image: all checks passed"
