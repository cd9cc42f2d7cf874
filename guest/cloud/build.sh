#!/usr/bin/env bash
# Build the vmlab cloud test guest: a self-booting Debian 12 (bookworm) qcow2
# cloud image (DOS label, FAT16 /boot partition with SYSLINUX + Debian kernel
# and initramfs, ext4 root partition labelled "rootfs", cloud-init NoCloud).
#
#   guest/cloud/build.sh OUTPUT.qcow2
#
# Needs root (debootstrap) but no loop mounts, and no network except the
# Debian mirror. The debootstrap download (all .debs) is cached as a tarball in
# ${VMLAB_CACHE:-$HOME/.cache/vmlab}/debootstrap/, so a second build is
# offline. Progress goes to stdout as "step i/N: ...", errors to stderr. The
# output is written atomically (temp file + mv).
#
# Environment:
#   VMLAB_CACHE           cache directory (default $HOME/.cache/vmlab)
#   VMLAB_DEBIAN_MIRROR   Debian mirror URL (default: the first one found in
#                         /etc/apt/sources.list{,.d/*} serving bookworm main,
#                         else http://deb.debian.org/debian)
#   VMLAB_REFRESH=1       ignore the cached debootstrap tarball and download anew
#
# Guest: kernel command line has net.ifnames=0, so NIC N is ethN; serial
# console on ttyS0 (115200); cloud-init datasources NoCloud and None only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NSTEPS=7
T0=$SECONDS
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
output_arg "$@"

CACHE=${VMLAB_CACHE:-$HOME/.cache/vmlab}
SUITE=bookworm
# Packages on top of debootstrap's minbase. python3-cffi-backend: debootstrap
# does not resolve the virtual package python3-cffi-backend-api-min that
# python3-cryptography (cloud-init) depends on.
INCLUDE="systemd-sysv openssh-server cloud-init cloud-guest-utils ifupdown isc-dhcp-client
netbase iproute2 udev linux-image-amd64 python3-cffi-backend sudo dbus locales
iputils-ping e2fsprogs"
# Disk layout (512-byte sectors): FAT16 boot partition, then ext4 root.
DISK_MIB=2048
BOOT_START=2048
BOOT_SECTORS=$((128 * 2048))
ROOT_START=$((BOOT_START + BOOT_SECTORS))
CMDLINE="root=LABEL=rootfs ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0"

# ---------------------------------------------------------------- host tools
say "checking host tools"
need debootstrap debootstrap
need chroot coreutils
need truncate coreutils
need sfdisk fdisk
need mkfs.vfat dosfstools
need mcopy mtools
need syslinux syslinux
need mkfs.ext4 e2fsprogs
need qemu-img qemu-utils
need dd coreutils
need sha256sum coreutils
need findmnt mount
need tar tar
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || missing="$missing  /usr/lib/syslinux/mbr/mbr.bin (Debian package: syslinux-common)"$'\n'
need_done
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
[ "$(dpkg --print-architecture 2>/dev/null || uname -m)" = amd64 ] || die "host architecture must be amd64"
# mke2fs -d needs e2fsprogs >= 1.43; -E offset= needs >= 1.43 too.
# (Read the version first: `grep -q` closing the pipe early fails the line under pipefail.)
mke2fs_version=$(mkfs.ext4 -V 2>&1 || true)
grep -q 'mke2fs 1\.4[3-9]\|mke2fs 1\.[5-9]' <<<"$mke2fs_version" || die "e2fsprogs >= 1.43 needed (mkfs.ext4 -d / -E offset=)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmlab-cloud.XXXXXX")
TMPOUT=""
TMPTB=""
cleanup() {
    # debootstrap mounts proc/sys inside the target; never rm -rf through a mount.
    local m left
    for m in $(findmnt -rn -o TARGET 2>/dev/null | grep "^$TMP/" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    left=$(findmnt -rn -o TARGET 2>/dev/null | grep "^$TMP/" || true)
    if [ -n "$left" ]; then
        echo "build.sh: warning: still mounted, not removing $TMP: $left" >&2
    else
        rm -rf "$TMP"
    fi
    [ -z "$TMPOUT" ] || rm -f "$TMPOUT"
    [ -z "$TMPTB" ] || rm -f "$TMPTB"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- mirror
find_mirror() {
    local f u
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        u=$(sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([a-z]\+:\/\/[^[:space:]]\+\)[[:space:]]\+'"$SUITE"'[[:space:]].*main.*/\2/p' "$f" | head -n 1)
        [ -z "$u" ] || { echo "${u%/}"; return 0; }
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822: first stanza with Suites: containing $SUITE and Components: main
        u=$(awk -v suite="$SUITE" '
            BEGIN { RS=""; FS="\n" }
            {
                uri=""; ok_s=0; ok_c=0; ok_t=0; en=1
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/)       { split(substr($i, 6), a, " "); uri=a[1]; if (uri == "") uri=a[2] }
                    if ($i ~ /^Suites:/)     { n=split(substr($i, 8), s, " "); for (j=1;j<=n;j++) if (s[j]==suite) ok_s=1 }
                    if ($i ~ /^Components:/) { if ($i ~ /[[:space:]]main([[:space:]]|$)/) ok_c=1 }
                    if ($i ~ /^Types:/)      { if ($i ~ /[[:space:]]deb([[:space:]]|$)/) ok_t=1 }
                    if ($i ~ /^Enabled:[[:space:]]*no/) en=0
                }
                if (uri != "" && ok_s && ok_c && ok_t && en) { print uri; exit }
            }' "$f")
        [ -z "$u" ] || { echo "${u%/}"; return 0; }
    done
    echo http://deb.debian.org/debian
}
MIRROR=${VMLAB_DEBIAN_MIRROR:-$(find_mirror)}

# ---------------------------------------------------------------- download
INCL=$(echo $INCLUDE | tr ' ' ',')
KEY=$(printf '%s\n' "$SUITE" minbase "$INCL" | sha256sum | cut -c1-12)
TBDIR=$CACHE/debootstrap
TB=$TBDIR/$SUITE-minbase-$KEY.tgz
mkdir -p "$TBDIR" || die "cannot create cache directory $TBDIR"
if [ -s "$TB" ] && [ -s "$TB.mirror" ] && [ "${VMLAB_REFRESH:-0}" != 1 ]; then
    say "using cached debootstrap tarball $TB"
else
    say "downloading packages from $MIRROR into $TB (debootstrap --make-tarball)"
    TMPTB=$(mktemp "$TBDIR/.$SUITE-minbase-$KEY.XXXXXX.tgz")
    rm -f "$TMPTB"
    if ! debootstrap --variant=minbase --include="$INCL" --make-tarball="$TMPTB" \
            "$SUITE" "$TMP/tarball-work" "$MIRROR" > "$TMP/debootstrap-dl.log" 2>&1; then
        tail -n 20 "$TMP/debootstrap-dl.log" >&2
        die "debootstrap --make-tarball failed (network to $MIRROR? set VMLAB_DEBIAN_MIRROR; full log above)"
    fi
    # --unpack-tarball must get the same mirror URL: the package lists in the
    # tarball are named after it. Record it before publishing the tarball.
    echo "$MIRROR" > "$TB.mirror.tmp" && mv -f "$TB.mirror.tmp" "$TB.mirror"
    mv -f "$TMPTB" "$TB"
    TMPTB=""
    rm -rf "$TMP/tarball-work"
fi
TBMIRROR=$(cat "$TB.mirror")
echo "  tarball $(($(stat -c %s "$TB") / 1048576)) MiB, made from $TBMIRROR"

# ---------------------------------------------------------------- install
say "installing the root filesystem (debootstrap --unpack-tarball)"
R=$TMP/rootfs
if ! debootstrap --variant=minbase --include="$INCL" --unpack-tarball="$TB" \
        "$SUITE" "$R" "$TBMIRROR" > "$TMP/debootstrap.log" 2>&1; then
    grep -v '^I: ' "$TMP/debootstrap.log" | tail -n 20 >&2
    [ -f "$R/debootstrap/debootstrap.log" ] && grep -v ' URL:' "$R/debootstrap/debootstrap.log" | tail -n 30 >&2
    die "debootstrap failed (corrupt cache? delete $TB, or rerun with VMLAB_REFRESH=1)"
fi

# ---------------------------------------------------------------- configure
say "configuring the root filesystem"
# apt sources for the guest: the mirror chosen now, with updates and security.
SECMIRROR=${MIRROR%/debian}/debian-security
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECMIRROR" "$SUITE" > "$R/etc/apt/sources.list"
# Locale: cloud-init's locale module expects en_US.UTF-8 to exist.
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$R/etc/locale.gen"
grep -q '^en_US.UTF-8 UTF-8' "$R/etc/locale.gen" || echo 'en_US.UTF-8 UTF-8' >> "$R/etc/locale.gen"
chroot "$R" /usr/sbin/locale-gen > "$TMP/locale-gen.log" 2>&1 || { cat "$TMP/locale-gen.log" >&2; die "locale-gen failed in the root filesystem"; }
echo 'LANG=en_US.UTF-8' > "$R/etc/default/locale"
# Per-instance identity: systemd creates machine-id at first boot, cloud-init
# writes the host keys and the hostname.
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R"/etc/ssh/ssh_host_*
rm -f "$R/etc/resolv.conf"
echo localhost > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' > "$R/etc/hosts"
printf '# <file system> <mount point> <type> <options> <dump> <pass>\nLABEL=rootfs / ext4 errors=remount-ro 0 1\n' > "$R/etc/fstab"
# Network: ifupdown; cloud-init writes /etc/network/interfaces.d/50-cloud-init
# (from the seed's network-config, or DHCP on the first NIC as fallback).
printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' > "$R/etc/network/interfaces"
mkdir -p "$R/etc/network/interfaces.d"
# cloud-init: only NoCloud (seed ISO labelled cidata, or kernel cmdline) and None.
mkdir -p "$R/etc/cloud/cloud.cfg.d"
printf 'datasource_list: [ NoCloud, None ]\n' > "$R/etc/cloud/cloud.cfg.d/99_vmlab.cfg"
# Boot work this guest does not need, which under TCG costs minutes of CPU
# (systemd-analyze blame, 2 vCPUs): e2scrub_reap (85 s; it looks for stale
# LVM snapshots, and there is no LVM), systemd-binfmt (13 s), cloud-init's
# grub-dpkg (15 s; there is no GRUB) and host keys printed to the console
# (4 s; vmlab gives the host key in the seed). Everything vmlab's seed uses
# (users, keys, host keys, hostname, passwords, runcmd) is left as Debian has it.
for unit in e2scrub_reap.service e2scrub_all.timer systemd-binfmt.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$unit"
done
printf 'grub_dpkg:\n  enabled: false\nssh:\n  emit_keys_to_console: false\n' >> "$R/etc/cloud/cloud.cfg.d/99_vmlab.cfg"
# Serial console: systemd starts serial-getty@ttyS0 for console=ttyS0; enable
# it explicitly too so it exists even with another kernel command line.
mkdir -p "$R/etc/systemd/system/getty.target.wants"
ln -sf /lib/systemd/system/serial-getty@.service "$R/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
# Drop documentation, manual pages and translations (except English); keep
# copyright files. The dpkg excludes keep later apt-get installs small too.
mkdir -p "$R/etc/dpkg/dpkg.cfg.d"
cat > "$R/etc/dpkg/dpkg.cfg.d/90-vmlab-nodoc" <<'DPKG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/en*
path-include=/usr/share/locale/locale.alias
DPKG
find "$R/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true
find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$R"/usr/share/man/* "$R"/usr/share/info/*
find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'en*' ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# Clean apt caches and logs.
chroot "$R" apt-get clean > /dev/null 2>&1 || true
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
       "$R"/var/cache/debconf/*-old "$R"/var/log/*.log "$R"/var/log/apt/* "$R/debootstrap" \
       "$R"/tmp/* "$R"/var/tmp/* "$R"/root/.bash_history
mkdir -p "$R/var/lib/apt/lists/partial"
# Kernel and initramfs (initramfs-tools, MODULES=most: includes virtio_blk/virtio_pci).
VMLINUZ=$(ls -1 "$R"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$VMLINUZ" ] || die "no kernel in $R/boot (linux-image-amd64 not installed?)"
KVER=${VMLINUZ##*/vmlinuz-}
INITRD=$R/boot/initrd.img-$KVER
[ -s "$INITRD" ] || die "no initramfs $INITRD in the root filesystem"
echo "  kernel $KVER, initramfs $(($(stat -c %s "$INITRD") / 1024)) KiB, rootfs $(du -sm "$R" | cut -f1) MiB"

# ---------------------------------------------------------------- boot partition
say "partitioning, FAT16 boot partition with SYSLINUX"
IMG=$TMP/disk.img
truncate -s "${DISK_MIB}M" "$IMG"
TOTAL=$((DISK_MIB * 2048))
ROOT_SECTORS=$((TOTAL - ROOT_START))
printf 'label: dos\nunit: sectors\n\nstart=%d, size=%d, type=6, bootable\nstart=%d, size=%d, type=83\n' \
    "$BOOT_START" "$BOOT_SECTORS" "$ROOT_START" "$ROOT_SECTORS" | sfdisk -q "$IMG" || die "sfdisk failed"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$IMG" bs=440 count=1 conv=notrunc status=none || die "writing mbr.bin failed"
mkfs.vfat -F 16 -n BOOT -h "$BOOT_START" --offset "$BOOT_START" "$IMG" $((BOOT_SECTORS / 2)) > "$TMP/mkfs.vfat.log" 2>&1 ||
    { cat "$TMP/mkfs.vfat.log" >&2; die "mkfs.vfat failed"; }
cat > "$TMP/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND $CMDLINE
CFG
FAT="$IMG@@$((BOOT_START * 512))"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$FAT" "$VMLINUZ" ::vmlinuz || die "mcopy vmlinuz failed"
mcopy -i "$FAT" "$INITRD" ::initrd.img || die "mcopy initrd failed"
mcopy -i "$FAT" "$TMP/syslinux.cfg" ::syslinux.cfg || die "mcopy syslinux.cfg failed"
syslinux --offset $((BOOT_START * 512)) --install "$IMG" || die "syslinux --install failed"

# ---------------------------------------------------------------- root partition
say "creating the ext4 root partition from the root filesystem (mkfs.ext4 -d)"
mkfs.ext4 -q -F -L rootfs -E offset=$((ROOT_START * 512)) -d "$R" "$IMG" $((ROOT_SECTORS / 2))k \
    || die "mkfs.ext4 -d failed"

# ---------------------------------------------------------------- qcow2
say "converting to qcow2"
publish_qcow2 "$IMG"
echo "done: $OUT ($(($(stat -c %s "$OUT") / 1048576)) MiB, ${DISK_MIB} MiB virtual, kernel $KVER, $((SECONDS - T0)) s)"
