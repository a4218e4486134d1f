#!/usr/bin/env bash
# The Docker engine and Lambda base image that `sam local invoke` / `sam local start-lambda` need, offline.
#
#   scripts/local-image.sh [build]   engine up (installing Debian's docker.io if missing) + stand-in image
#   scripts/local-image.sh stop      stop the dockerd this script started (and nothing else)
#
# SAM derives every function's container FROM public.ecr.aws/lambda/python:X.Y-x86_64 (X.Y = PY_VERSION, the
# Runtime: `make` exports it), which cannot be pulled here. The stand-in reproduces what SAM relies on in the
# real image: a minimal Debian (debootstrap, from apt),
# CPython X.Y in /var/lang (copied from this machine's runtime interpreter), awslambdaric + boto3 in
# /var/runtime, /var/runtime/bootstrap, /lambda-entrypoint.sh, /var/task, LAMBDA_TASK_ROOT, WORKDIR and
# ENTRYPOINT. SAM adds its own aws-lambda-rie ("rapid") on top. Idempotent: the image carries a fingerprint of
# its inputs and is rebuilt only when they change. Runs as root (apt, debootstrap, dockerd).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TUTELA_DOCKER_STATE:-$ROOT/.make/docker}
IMAGE=public.ecr.aws/lambda/python
PY=${PY_VERSION:-3.13}
TAGS=("$PY-x86_64" "$PY")
# boto3 is what the Lambda runtime ships; awslambdaric is the runtime interface client AWS's images use.
RUNTIME_PACKAGES=(awslambdaric==4.2.2 boto3)
# The real image's environment (LD_LIBRARY_PATH finds /var/lang/lib/libpythonX.Y.so).
IMAGE_ENV=(
  "LANG=en_US.UTF-8"
  "TZ=:/etc/localtime"
  "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
  "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
  "LAMBDA_TASK_ROOT=/var/task"
  "LAMBDA_RUNTIME_DIR=/var/runtime"
)

say() { echo "local-image: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages and starts dockerd)"
mkdir -p "$STATE"

engine_answers() { docker info >/dev/null 2>&1; }

apt_install() {
  # No service may start during the install: Debian's docker.io would launch dockerd with its default
  # (firewall-changing) flags. policy-rc.d is removed again only if this script created it.
  local created=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created=1
  fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  }
  [ -z "$created" ] || rm -f /usr/sbin/policy-rc.d
}

start_engine() {
  if engine_answers; then
    return 0
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || die "no docker client after installing docker.io"
  say "starting dockerd (firewall left alone: no iptables, forwarding or masquerading changes)"
  # --bridge=none would break SAM, which reaches the container through a published 127.0.0.1 port.
  dockerd --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
  echo $! >"$STATE/started.pid"
  for _ in $(seq 1 60); do
    engine_answers && { say "dockerd is up (pid $(cat "$STATE/started.pid"))"; return 0; }
    kill -0 "$(cat "$STATE/started.pid")" 2>/dev/null || break
    sleep 1
  done
  tail -n 20 "$STATE/dockerd.log" >&2 || true
  die "the Docker engine did not start (log: $STATE/dockerd.log); sam local invoke cannot run on this machine"
}

stop_engine() {
  local pid
  pid=$(cat "$STATE/started.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    say "no dockerd started by this script is running"
    rm -f "$STATE/started.pid"
    return 0
  fi
  say "stopping the dockerd this script started (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  rm -f "$STATE/started.pid"
}

# ------------------------------------------------------------------ the stand-in image
runtime_python() {
  local py
  py=${RUNTIME_PY:-$("$ROOT/scripts/find-python.sh" "$PY")}
  [ -x "$py" ] || die "no CPython $PY found for /var/lang"
  echo "$py"
}

fingerprint() {
  # Everything the image is made of: this script, the interpreter's version, the Debian suite.
  { cat "$0"; "$1" -VV; echo "$2"; } | sha256sum | cut -c1-16
}

image_label() {
  docker image inspect -f '{{ index .Config.Labels "tutela.standin" }}' "$IMAGE:${TAGS[0]}" 2>/dev/null || true
}

# Debian packages providing the shared libraries a tree of ELF files needs (beyond what minbase has).
library_packages() {
  set +o pipefail  # ldd fails on the non-ELF files among them; those simply add nothing
  find "$@" -type f \( -name '*.so*' -o -perm -u+x \) -not -name '*tkinter*' -print0 2>/dev/null \
    | xargs -0 -r ldd 2>/dev/null \
    | awk '/=> \// {print $3}' | sort -u \
    | while read -r lib; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done \
    | cut -d: -f1 | sort -u | tr '\n' ' '
  set -o pipefail
}

build_image() {
  local py prefix suite mirror want build rootfs pkgs
  py=$(runtime_python)
  prefix=$("$py" -c 'import sys; print(sys.base_prefix)')
  # shellcheck disable=SC1091
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  want=$(fingerprint "$py" "$suite")
  if [ "$(image_label)" = "$want" ]; then
    docker tag "$IMAGE:${TAGS[0]}" "$IMAGE:${TAGS[1]}"
    say "$IMAGE:${TAGS[0]} is current ($want)"
    return 0
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
    2>/dev/null | head -n1 | awk '{print $2}' || true)
  mirror=${mirror:-http://deb.debian.org/debian}

  build="$STATE/build"
  rootfs="$build/rootfs"
  rm -rf "$build"
  mkdir -p "$build/runtime"
  say "runtime packages: ${RUNTIME_PACKAGES[*]}"
  PIP_ROOT_USER_ACTION=ignore "$py" -m pip install -q --no-compile --target "$build/runtime" \
    "${RUNTIME_PACKAGES[@]}" 2> >(grep -v '^WARNING: Location' >&2)
  pkgs=$(library_packages "$prefix/bin/python$PY" "$prefix/lib/python$PY/lib-dynload" \
    "$prefix"/lib/libpython"$PY"*.so* "$build/runtime")
  pkgs=$(echo "$pkgs" | tr ' ' '\n' | grep -vE '^(libc6|libgcc-s1)?$' | sort -u | paste -sd, -)
  say "debootstrap --variant=minbase $suite from $mirror (+ ${pkgs:-nothing})"
  debootstrap --variant=minbase ${pkgs:+--include="$pkgs"} "$suite" "$rootfs" "$mirror" >"$build/debootstrap.log" 2>&1 \
    || { tail -n 20 "$build/debootstrap.log" >&2; die "debootstrap failed (is the Debian mirror reachable?)"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

  say "CPython $("$py" -c 'import platform; print(platform.python_version())') -> /var/lang"
  mkdir -p "$rootfs/var/lang"
  # Only the interpreter, its shared library and its standard library: the prefix may be /usr.
  local members
  members=$(cd "$prefix" && ls -d "bin/python$PY" "lib/python$PY" lib/libpython"$PY"*.so* 2>/dev/null)
  # shellcheck disable=SC2086
  tar -C "$prefix" -c --exclude="lib/python$PY/test" --exclude="lib/python$PY/idlelib" \
    --exclude="lib/python$PY/tkinter" --exclude="lib/python$PY/turtledemo" \
    --exclude="lib/python$PY/site-packages/*" --exclude='*_tkinter*' --exclude='*.a' $members \
    | tar -C "$rootfs/var/lang" -x
  ln -sf "python$PY" "$rootfs/var/lang/bin/python3" 2>/dev/null || true
  mkdir -p "$rootfs/var/runtime" "$rootfs/var/task" "$rootfs/opt"
  cp -a "$build/runtime/." "$rootfs/var/runtime/"

  # The real image's entry point: with no Runtime API (plain `docker run`) it starts the emulator itself.
  cat >"$rootfs/lambda-entrypoint.sh" <<'EOF'
#!/bin/sh
# Same contract as the AWS Lambda base image's entry point.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
EOF
  # What the emulator ("rapid") starts: the Python runtime interface client on the function's handler. The
  # search path is Lambda's: the function, then layers (/opt/python), then the runtime's own packages.
  cat >"$rootfs/var/runtime/bootstrap" <<EOF
#!/bin/sh
export AWS_EXECUTION_ENV=AWS_Lambda_python$PY
export PYTHONPATH="/var/task:/opt/python/lib/python$PY/site-packages:/opt/python:/var/runtime\${PYTHONPATH:+:\$PYTHONPATH}"
cd "\${LAMBDA_TASK_ROOT:-/var/task}"
exec /var/lang/bin/python$PY -m awslambdaric "\${_HANDLER:-\$AWS_LAMBDA_FUNCTION_HANDLER}"
EOF
  chmod +x "$rootfs/lambda-entrypoint.sh" "$rootfs/var/runtime/bootstrap"
  chroot "$rootfs" /usr/bin/env -i LD_LIBRARY_PATH=/var/lang/lib PYTHONPATH=/var/runtime \
    "/var/lang/bin/python$PY" -c 'import awslambdaric.bootstrap, boto3, ssl, sqlite3, zlib, bz2, lzma, ctypes' \
    || die "the copied interpreter cannot import the runtime in the new root file system"

  local changes=(--change 'WORKDIR /var/task' --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]'
    --change "LABEL tutela.standin=$want")
  for kv in "${IMAGE_ENV[@]}"; do changes+=(--change "ENV $kv"); done
  say "importing $IMAGE:${TAGS[0]}"
  tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$IMAGE:${TAGS[0]}" >/dev/null
  docker tag "$IMAGE:${TAGS[0]}" "$IMAGE:${TAGS[1]}"
  rm -rf "$build"
  say "built $IMAGE:${TAGS[0]} and :${TAGS[1]} ($(docker image inspect -f '{{.Size}}' "$IMAGE:${TAGS[0]}" \
    | awk '{printf "%.0f MB", $1/1e6}'), fingerprint $want)"
}

case "${1:-build}" in
  build) start_engine; build_image ;;
  engine) start_engine ;;
  stop) stop_engine ;;
  *) die "usage: $0 [build|engine|stop]" ;;
esac
