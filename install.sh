#!/usr/bin/env bash
# vmlab set-up on Debian/Ubuntu. Idempotent: run it again at any time.
#   - system packages: QEMU, qemu-img, OpenSSH client, the tools the guest builder uses, chromium (web UI e2e)
#   - npm ci + build
#   - the tiny test guest in ~/.vmlab/images/vmlab-tiny.qcow2 (skip with --no-guest)
#   - with --with-vrnetlab: clone (or update) srl-labs/vrnetlab into $VRNETLAB_PATH
#     (default ~/.vmlab/vrnetlab), which vmlab builds network-device Docker images with
set -euo pipefail
cd "$(dirname "$0")"

build_guest=1
with_vrnetlab=0
for arg in "$@"; do
  case "$arg" in
    --no-guest) build_guest=0 ;;
    --with-vrnetlab) with_vrnetlab=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

# QEMU and friends; the guest builders need apt (download), dpkg-deb, cpio,
# mtools/dosfstools/syslinux (a bootable disk without root or loop mounts),
# debootstrap/fdisk/e2fsprogs (the cloud test image); genisoimage writes
# cloud-init seeds; util-linux has prlimit (limits on qemu-img for untrusted images).
# vrnetlab builds run make and docker; the tests start their own dockerd (docker.io)
# and docker-import a busybox-static rootfs as the base image, and their own
# redis-server (the BullMQ job backend's tests); chromium is the real browser the
# web UI's e2e test drives (playwright-core, no browser download); dropbear-bin
# (the server binary only, no service) is the SSH server of each network
# namespace in the --all-hosts test; passt is the management network of nodes
# that may open connections out (mgmt_egress), without the host's loopback.
packages=(qemu-system-x86 qemu-utils openssh-client dropbear-bin passt
  syslinux syslinux-common mtools dosfstools cpio xz-utils genisoimage
  debootstrap fdisk e2fsprogs util-linux
  make git docker.io redis-server chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi
# `apt-get download` (the guest builder) needs package lists.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  say "fetching apt package lists"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
fi

# Node.js 20.19+ (the build's vite needs it); tested on 20, 22 and 24. `node -p` with a
# plain expression works on any Node, so an old one gets this message, not a stack trace.
node_ok=$(node -p 'var v = process.versions.node.split(".").map(Number);
  v[0] > 20 || (v[0] === 20 && v[1] >= 19) ? 1 : 0' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  found=$(node --version 2>/dev/null || echo "no node on PATH")
  echo "install.sh: vmlab needs Node.js 20.19 or newer, tested on 20, 22 and 24 (found: $found)" >&2
  echo "  next: install Node.js 24 (the current LTS), then run ./install.sh again" >&2
  exit 1
fi

# better-sqlite3 compiles against Node's headers (npm's nodedir; node-gyp would
# download them, and there may be no network). They must be this Node's major
# version: Debian's Node 20 headers in /usr build a module Node 24 cannot load.
# So a configured nodedir of another version gives way to this Node's own headers
# (Debian's /usr for /usr/bin/node, an official build's beside its bin/node).
headers_major() {
  sed -n 's/^#define NODE_MAJOR_VERSION \([0-9]*\).*/\1/p' "$1/include/node/node_version.h" 2>/dev/null
}
this_major=$(node -p 'process.versions.node.split(".")[0]')
this_prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
configured=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null)}
[ "$configured" = "undefined" ] && configured=""
if [ -n "$configured" ] && [ "$(headers_major "$configured")" = "$this_major" ]; then
  : # the configured headers fit
elif [ "$(headers_major "$this_prefix")" = "$this_major" ]; then
  [ -z "$configured" ] || say "npm's nodedir $configured is not Node $this_major's: using $this_prefix/include/node"
  export npm_config_nodedir="$this_prefix"
elif [ -n "$configured" ]; then
  say "warning: npm's nodedir $configured has no Node $this_major headers; better-sqlite3 may not build or load"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
elif ! node -e 'require("./node_modules/better-sqlite3/build/Release/better_sqlite3.node")' 2>/dev/null; then
  say "better-sqlite3 was built for another Node: rebuilding it for Node $(node --version)"
  npm rebuild better-sqlite3 --loglevel=error
else
  say "node modules up to date"
fi
say "building"
npm run --silent build

if [ "$build_guest" = 1 ]; then
  image="${VMLAB_HOME:-$HOME/.vmlab}/images/vmlab-tiny.qcow2"
  if [ -f "$image" ]; then
    say "tiny guest present: $image"
  else
    say "building the tiny guest (Debian kernel + busybox + dropbear) into $image"
    ./bin/vmlab images build tiny --output "$image"
  fi
fi
if [ "$with_vrnetlab" = 1 ]; then
  vrnetlab="${VRNETLAB_PATH:-${VMLAB_HOME:-$HOME/.vmlab}/vrnetlab}"
  url=https://github.com/srl-labs/vrnetlab.git
  if ! timeout 20 git ls-remote --heads "$url" >/dev/null 2>&1; then
    if [ -d "$vrnetlab/.git" ]; then
      say "vrnetlab: $url is not reachable from here; keeping the checkout in $vrnetlab as it is"
    else
      say "vrnetlab: $url is not reachable from here (no network?): NOT cloned."
      say "  clone it later (git clone $url $vrnetlab) or copy a checkout there; vmlab builds need it"
    fi
  elif [ -d "$vrnetlab/.git" ]; then
    say "vrnetlab: updating $vrnetlab"
    git -C "$vrnetlab" pull --ff-only -q || say "vrnetlab: could not fast-forward $vrnetlab (local changes?); left as it is"
  elif [ -e "$vrnetlab" ] && [ -n "$(ls -A "$vrnetlab" 2>/dev/null)" ]; then
    say "vrnetlab: $vrnetlab exists and is no git checkout; left as it is"
  else
    say "vrnetlab: cloning $url into $vrnetlab"
    mkdir -p "$(dirname "$vrnetlab")"
    git clone -q --depth 1 "$url" "$vrnetlab"
  fi
fi
say "done. Try: ./bin/vmlab deploy -S examples/demo"
