#!/usr/bin/env bash
# Build the vmlab tiny test guest: a self-booting qcow2 disk (FAT + SYSLINUX,
# Debian kernel, initramfs root with busybox-static + dropbear).
#
#   guest/tiny/build.sh OUTPUT.qcow2
#
# Needs no root, no loop mounts and no network except apt (Debian mirrors).
# Debian packages are cached in ${VMLAB_CACHE:-$HOME/.cache/vmlab}/debs/, so a
# second build is offline. Progress goes to stdout as "step i/N: ...", errors
# to stderr. The output is written atomically (temp file + mv).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NSTEPS=8
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
output_arg "$@"

CACHE=${VMLAB_CACHE:-$HOME/.cache/vmlab}
DEBS=$CACHE/debs

# Kernel modules put in the image (dependencies are added automatically).
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
failover net_failover virtio_net virtio_blk e1000 e1000e qemu_fw_cfg button evdev"
# Shared libraries dropbear/dropbearconvert/dropbearkey/dbclient need (verified
# with readelf below when binutils is installed).
LIBS="ld-linux-x86-64.so.2 libc.so.6 libcrypt.so.1 libz.so.1 libtomcrypt.so.1
libtommath.so.1 libgmp.so.10"
# Binary packages (the kernel package is resolved from linux-image-amd64).
PKGS="busybox-static dropbear-bin libtomcrypt1 libtommath1 zlib1g libgmp10 libcrypt1 libc6"
ROOT_PASSWORD=vmlab

# ---------------------------------------------------------------- host tools
say "checking host tools"
need apt-get apt
need apt-cache apt
need dpkg-deb dpkg
need dpkg dpkg
need cpio cpio
need gzip gzip
need mkfs.vfat dosfstools
need mcopy mtools
need syslinux syslinux
need qemu-img qemu-utils
need truncate coreutils
need find findutils
need tar tar
need stat coreutils
need sed sed
need_done
[ "$(dpkg --print-architecture)" = amd64 ] || die "host architecture must be amd64 (dpkg --print-architecture)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmlab-tiny.XXXXXX")
TMPOUT=""
cleanup() {
    rm -rf "$TMP"
    [ -z "$TMPOUT" ] || rm -f "$TMPOUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- packages
say "fetching Debian packages into $DEBS"
mkdir -p "$DEBS" || die "cannot create cache directory $DEBS"
APTOPTS=()
[ "$(id -u)" != 0 ] || APTOPTS=(-o APT::Sandbox::User=root)

# cached_deb PKG [VERSION] -> path of the cached .deb (newest if no version)
cached_deb() {
    local pkg=$1 ver=${2:-} f
    if [ -n "$ver" ]; then
        for f in "$DEBS/${pkg}_${ver//:/%3a}_"*.deb; do [ -f "$f" ] && { echo "$f"; return 0; }; done
        return 1
    fi
    f=$(ls -1 "$DEBS/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n 1)
    [ -n "$f" ] && echo "$f"
}
declare -A CAND=()
load_candidates() { # fill CAND[pkg]=candidate version, for the packages known to apt
    local p="" l
    while IFS= read -r l; do
        case "$l" in
            [!\ ]*:) p=${l%:} ;;
            *Candidate:*) l=${l##*Candidate: }; [ "$l" = "(none)" ] || CAND[$p]=$l ;;
        esac
    done < <(apt-cache policy "$@" 2>/dev/null || true)
}

kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1 || true)
if [ -z "$kpkg" ]; then
    f=$(ls -1 "$DEBS"/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | grep -v -- '-unsigned_' | sort -V | tail -n 1 || true)
    [ -n "$f" ] || die "apt does not know linux-image-amd64 and nothing is cached in $DEBS: run 'apt-get update' (as root)"
    kpkg=$(basename "$f"); kpkg=${kpkg%%_*}
    echo "  apt does not know linux-image-amd64; using cached $kpkg"
fi

load_candidates $kpkg $PKGS
DEBFILES=()
KDEB=""
for pkg in $kpkg $PKGS; do
    ver=${CAND[$pkg]:-}
    if [ -n "$ver" ]; then
        if f=$(cached_deb "$pkg" "$ver"); then
            echo "  cached: $(basename "$f")"
        else
            echo "  downloading: $pkg $ver"
            (cd "$DEBS" && apt-get download -q "${APTOPTS[@]}" "$pkg=$ver" >/dev/null) ||
                die "apt-get download $pkg=$ver failed (network to the Debian mirror? run 'apt-get update'?)"
            f=$(cached_deb "$pkg" "$ver") || die "apt-get download $pkg did not leave a .deb in $DEBS"
        fi
    else
        f=$(cached_deb "$pkg" || true)
        [ -n "$f" ] || die "apt does not know package $pkg and it is not cached in $DEBS: run 'apt-get update' (as root)"
        echo "  cached (apt does not know $pkg): $(basename "$f")"
    fi
    if [ "$pkg" = "$kpkg" ]; then KDEB=$f; else DEBFILES+=("$f"); fi
done

# ---------------------------------------------------------------- extract
say "extracting packages"
X=$TMP/x
mkdir -p "$X"
for f in "${DEBFILES[@]}"; do
    dpkg-deb -x "$f" "$X" || die "cannot extract $f (corrupt cache? delete it and rerun)"
done
KVER=${kpkg#linux-image-}
# kx MODULE... : extract the kernel image and these modules from the kernel package
kx() {
    local pats=("./boot/vmlinuz-$KVER") m
    for m in "$@"; do pats+=("./lib/modules/$KVER/*/$m.ko" "./lib/modules/$KVER/*/$m.ko.xz"); done
    dpkg-deb --fsys-tarfile "$KDEB" | tar -x -C "$X" --wildcards "${pats[@]}" 2>"$TMP/tar.err" || true
    [ -f "$X/boot/vmlinuz-$KVER" ] || { cat "$TMP/tar.err" >&2; die "cannot extract $KDEB (corrupt cache? delete it and rerun)"; }
}
kx $MODULES
VMLINUZ=$X/boot/vmlinuz-$KVER
KMODDIR=$X/lib/modules/$KVER
[ -f "$VMLINUZ" ] || die "kernel $VMLINUZ not found in $kpkg"
[ -d "$KMODDIR" ] || die "module directory $KMODDIR not found in $kpkg"

# ---------------------------------------------------------------- rootfs
say "assembling root filesystem (busybox, dropbear, libraries)"
R=$TMP/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,lib/x86_64-linux-gnu,lib64,lib/modules/vmlab,proc,sys,run,tmp,root,var/log,var/empty}
chmod 1777 "$R/tmp"
chmod 700 "$R/root"
cp "$X/bin/busybox" "$R/bin/busybox"
"$R/bin/busybox" --list-full > "$TMP/applets" || die "cannot run the extracted busybox to list its applets"
while read -r a; do
    [ "$a" = bin/busybox ] && continue
    [ -e "$R/$a" ] || [ -L "$R/$a" ] && continue
    d=$(dirname "$a"); up=$(echo "$d" | sed 's|[^/][^/]*|..|g')
    mkdir -p "$R/$d"
    ln -s "$up/bin/busybox" "$R/$a"
done < "$TMP/applets"
ln -s bin/busybox "$R/init"
for b in usr/sbin/dropbear usr/bin/dropbearconvert usr/bin/dropbearkey usr/bin/dbclient; do
    [ -f "$X/$b" ] || die "$b not found in dropbear-bin"
    cp "$X/$b" "$R/$b"
done
ln -s dbclient "$R/usr/bin/ssh"
for l in $LIBS; do
    src=""
    for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
        [ -e "$X/$d/$l" ] && { src=$X/$d/$l; break; }
    done
    [ -n "$src" ] || die "library $l not found in the extracted packages"
    cp -L "$src" "$R/lib/x86_64-linux-gnu/$l"
done
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
if command -v readelf >/dev/null 2>&1; then
    for f in "$R"/usr/sbin/dropbear "$R"/usr/bin/dropbear* "$R"/usr/bin/dbclient "$R"/lib/x86_64-linux-gnu/*; do
        for n in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            [ -e "$R/lib/x86_64-linux-gnu/$n" ] || die "$(basename "$f") needs $n, which is not in LIBS of build.sh"
        done
    done
fi

# ---------------------------------------------------------------- modules
say "selecting kernel modules from $kpkg"
declare -A seen=()
addmod() {
    local m=$1 f deps d
    [ -n "${seen[$m]:-}" ] && return 0
    seen[$m]=1
    f=$(find "$KMODDIR" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
    [ -n "$f" ] || { kx "$m"; f=$(find "$KMODDIR" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1); }
    [ -n "$f" ] || die "kernel module $m not found in $kpkg (built in? then drop it from MODULES)"
    case "$f" in
        *.xz) xz -dc "$f" > "$R/lib/modules/vmlab/$m.ko" ;;
        *) cp "$f" "$R/lib/modules/vmlab/$m.ko" ;;
    esac
    deps=$(tr '\0' '\n' < "$R/lib/modules/vmlab/$m.ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
    echo "$deps" > "$R/lib/modules/vmlab/$m.dep"
    for d in $deps; do addmod "$d"; done
}
for m in $MODULES; do addmod "$m"; done
echo "  $(ls "$R/lib/modules/vmlab" | grep -c '\.ko$') modules: $(cd "$R/lib/modules/vmlab" && ls *.ko | sed 's/\.ko$//' | tr '\n' ' ')"

# ---------------------------------------------------------------- config
say "installing configuration and root password"
cp -R "$HERE/rootfs/." "$R/"
hash=""
if command -v openssl >/dev/null 2>&1; then
    hash=$(openssl passwd -6 "$ROOT_PASSWORD" 2>/dev/null || true)
fi
[ -n "$hash" ] || hash=$("$R/bin/busybox" mkpasswd -m sha512 "$ROOT_PASSWORD")
case "$hash" in '$6$'*) ;; *) die "could not hash the root password (got '$hash')" ;; esac
printf 'root:%s:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' "$hash" > "$R/etc/shadow"
chmod 600 "$R/etc/shadow"
chmod 755 "$R/etc/init.d/rcS" "$R/etc/init.d/rcK" "$R/etc/acpi/PWRF/00000080" "$R/usr/share/udhcpc/default.script"

# ---------------------------------------------------------------- initramfs
say "packing initramfs (cpio newc, gzip)"
# /dev and /dev/console cannot be created without root: write that part of
# the archive by hand (cpio newc; the kernel accepts concatenated archives).
cpio_entry() { # NAME MODE(hex) RDEVMAJ RDEVMIN
    local name=$1 mode=$2 maj=$3 min=$4 ns
    ns=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 "$((16#$mode))" 0 0 1 0 0 0 0 "$maj" "$min" "$ns" 0
    printf '%s\0' "$name"
    # pad header (110 bytes) + name to a multiple of 4
    local pad=$(( (4 - (110 + ns) % 4) % 4 ))
    [ $pad -eq 0 ] || head -c "$pad" /dev/zero
}
INITRD=$TMP/initrd.img
{
    cpio_entry dev 41ED 0 0          # directory 0755
    cpio_entry dev/console 2180 5 1  # char device 0600, 5:1
    cpio_entry 'TRAILER!!!' 0 0 0
} | gzip -9 -n > "$INITRD"
find "$R" -exec touch -h -d @1 {} +
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >> "$INITRD"
echo "  initramfs $(($(stat -c %s "$INITRD") / 1024)) KiB, kernel $(($(stat -c %s "$VMLINUZ") / 1024)) KiB"

# ---------------------------------------------------------------- disk
say "building FAT boot disk with SYSLINUX and converting to qcow2"
IMG=$TMP/disk.img
truncate -s 64M "$IMG"
mkfs.vfat -n VMLAB "$IMG" >/dev/null || die "mkfs.vfat failed"
MTOOLS_SKIP_CHECK=1 mcopy -i "$IMG" "$VMLINUZ" ::vmlinuz || die "mcopy vmlinuz failed"
MTOOLS_SKIP_CHECK=1 mcopy -i "$IMG" "$INITRD" ::initrd.img || die "mcopy initrd failed"
MTOOLS_SKIP_CHECK=1 mcopy -i "$IMG" "$HERE/syslinux.cfg" ::syslinux.cfg || die "mcopy syslinux.cfg failed"
syslinux --install "$IMG" || die "syslinux --install failed"
publish_qcow2 "$IMG"
echo "done: $OUT ($(($(stat -c %s "$OUT") / 1024)) KiB, kernel $KVER)"
