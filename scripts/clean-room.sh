#!/usr/bin/env bash
# The clean-room check: proves the README's two commands on a blank Debian 12.
#
# Builds a minimal Debian 12 root (mmdebstrap --variant=minbase), copies in from this host only what
# Debian 12 cannot give (Node 20 and npm) and the CA bundle the network here needs, clones the
# committed project (HEAD) into it and runs inside chroot, as root with a clean environment, the
# README's setup + main job line (on a reduced dataset, see MAIN_ARGS), then with --full its test line.
# Prints the time of each step and fails with the step's output when one fails. Full logs go to
# runs/clean-room/<UTC time>/. The root and its mounts are removed at the end, also when interrupted.
#
# Usage (as root, on Debian/Ubuntu with the Debian mirror reachable):
#   npm run check:clean-room [-- [--full] [--main-args "ARGS"] [--keep]]
#   --full         also run the README's test line (npm test) in the root
#   --main-args A  what npm start gets (default "--images-per-class 20 --test-size 120"; "" for the
#                  README's full setting)
#   --keep         keep the root (unmounted) for a look afterwards; its path is printed
set -euo pipefail

MAIN_ARGS="--images-per-class 20 --test-size 120"
full=false
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=true ;;
    --keep) keep=true ;;
    --main-args) MAIN_ARGS=${2?--main-args needs a value}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

project=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "clean-room: needs root (mmdebstrap, mount, chroot)" >&2; exit 2; }
logs="$project/runs/clean-room/$(date -u +%Y-%m-%dT%H-%M-%SZ)"
mkdir -p "$logs"
work=$(readlink -f "$(mktemp -d "${TMPDIR:-/var/tmp}/charid-clean-room.XXXXXX")")
root="$work/root"
pid=""

mounts_under_root() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  # Processes still running inside the root (a kernel, a notebook server): ours, found by their root.
  local p victims=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && victims+=("${p#/proc/}")
  done
  if [ ${#victims[@]} -gt 0 ]; then
    kill -TERM "${victims[@]}" 2>/dev/null || true
    sleep 2
    kill -KILL "${victims[@]}" 2>/dev/null || true
  fi
  local m
  for m in $(mounts_under_root); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  if [ -n "$(mounts_under_root)" ]; then
    echo "clean-room: still mounted under $root, not removing it:" >&2
    mounts_under_root >&2
    exit 1
  fi
  if $keep; then echo "clean-room: kept $root (nothing mounted)"; else rm -rf --one-file-system "$work"; fi
  [ "$status" -ge 128 ] && echo "clean-room: interrupted; the root and its mounts are removed" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

seconds() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
summary=()

# step NAME LABEL COMMAND...: runs COMMAND in the background (so a signal is handled at once), each
# output line stamped with the seconds since the step began, into $logs/NAME.log; prints its time, or
# fails with the end of its output.
step() {
  local name=$1 label=$2 log="$logs/$1.log" started=$SECONDS status=0
  shift 2
  echo "== $name: $label"
  { "$@" 2>&1 | while IFS= read -r line; do printf '%5ds %s\n' $((SECONDS - started)) "$line"; done; exit "${PIPESTATUS[0]}"; } >"$log" &
  pid=$!
  wait "$pid" || status=$?
  pid=""
  local took=$((SECONDS - started))
  summary+=("$(printf '%-12s %8s  %s' "$name" "$(seconds $took)" "$label")")
  if [ $status != 0 ]; then
    echo "== $name FAILED after $(seconds $took) (exit $status); the end of its output ($log):" >&2
    tail -n 80 "$log" >&2
    exit 1
  fi
  echo "   $(seconds $took)"
}

in_root() {
  # A clean environment: what a new root shell has, plus the CA bundle this network needs.
  local env=(HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb CI=true
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  local var
  for var in NODE_EXTRA_CA_CERTS SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!var:-}" ] && env+=("$var=${!var}")
  done
  env -i "${env[@]}" chroot "$root" /bin/sh -c "cd /root/charid && $1"
}

# The README's command block: its first line is setup + main job, its second the tests.
readme_line() { awk '/^```sh$/ { inside = 1; next } /^```/ { if (inside) exit } inside' "$project/README.md" | sed -n "$1p" | sed 's/[[:space:]]*#.*$//'; }
main_line=$(readme_line 1)
test_line=$(readme_line 2)
case "$main_line" in *"npm start") ;; *) echo "clean-room: README's first command line is '$main_line', expected it to end with npm start" >&2; exit 2 ;; esac
[ -n "$MAIN_ARGS" ] && main_line="$main_line -- $MAIN_ARGS"
[ -n "$(git -C "$project" status --porcelain --untracked-files=no)" ] && echo "clean-room: note: uncommitted changes are not part of the check (it clones HEAD)"

if ! command -v mmdebstrap >/dev/null; then
  step host-mmdebstrap "apt-get install mmdebstrap (on this host)" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap'
fi

# A fresh Debian 12 as installed: main, updates and security. apt's Acquire settings of this host
# (how it reaches the mirror) come along; nothing else does.
aptopts=()
for f in /etc/apt/apt.conf.d/*; do grep -q '^Acquire::' "$f" 2>/dev/null && aptopts+=("--aptopt=$f"); done
step debootstrap "mmdebstrap --variant=minbase bookworm" mmdebstrap --variant=minbase "${aptopts[@]}" bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"

copy_in() {
  cp -a "$(readlink -f "$(command -v node)")" "$root/usr/bin/node"
  mkdir -p "$root/usr/lib/node_modules"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # What the Debian installer writes (a minbase root has none, and then localhost does not resolve).
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >"$root/etc/hosts"
  git clone -q --no-local "$project" "$root/root/charid"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev" # so that unmounting its submounts never reaches the host's /dev
  mount -t tmpfs tmpfs "$root/tmp"
  echo "node $(chroot "$root" /usr/bin/node --version), npm $(chroot "$root" /usr/bin/npm --version), project $(git -C "$root/root/charid" log -1 --format='%h %s')"
}
step copy-in "copy in node, npm, CA bundle; clone the project; mount proc, sys, dev, tmp" copy_in
echo "   $(tail -n 1 "$logs/copy-in.log" | sed 's/^ *[0-9]*s //')"

# When the phases of a step began: the stamp of the first line of its log that matches each pattern.
phases() {
  local pattern
  for pattern in "$@"; do
    awk -v p="${pattern#*=}" -v n="${pattern%%=*}" '$0 ~ p { printf "   %-34s +%s\n", n, $1; exit }' "$logs/$name.log"
  done
}

name=main step main "$main_line" in_root "$main_line"
name=main phases "npm start began=> charid@[^ ]* start" "apt-get install began=installing with apt-get" \
  "dataset generation began=generating the embedded dataset|data/embedded is up to date" "notebooks began====" \
  "notebook table (end)=^ *[0-9]+s notebook +status"
if $full; then step tests "$test_line" in_root "$test_line"; fi

summary+=("$(printf '%-12s %8s  %s' total "$(seconds $SECONDS)" "(removing the root follows)")")
echo
echo "clean room: every step passed (logs: $logs)"
printf '%s\n' "${summary[@]}" | tee "$logs/summary.txt"
