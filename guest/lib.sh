# Shared by the guest builders (guest/*/build.sh): progress lines, errors,
# the OUTPUT argument, and the up-front check of host tools.
# Callers set NSTEPS before the first `say`.

step=0
say() { step=$((step + 1)); echo "step $step/$NSTEPS: $*"; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

# output_arg "$@": sets OUT and OUTDIR from the single OUTPUT.qcow2 argument.
output_arg() {
    [ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $0 OUTPUT.qcow2" >&2; exit 2; }
    OUT=$1
    case "$OUT" in */) die "OUTPUT must be a file name, not a directory: $OUT" ;; esac
    OUTDIR=$(dirname -- "$OUT")
    [ -d "$OUTDIR" ] || die "output directory does not exist: $OUTDIR"
    [ -w "$OUTDIR" ] || die "output directory is not writable: $OUTDIR"
}

# need TOOL DEBIAN-PACKAGE ...; then need_done reports every missing one at once.
missing=""
need() {
    command -v "$1" >/dev/null 2>&1 || missing="$missing  $1 (Debian package: $2)"$'\n'
}
need_done() {
    if [ -n "$missing" ]; then
        printf 'build.sh: error: missing host tools:\n%s' "$missing" >&2
        echo "build.sh: install them with: apt-get install <packages above> (./install.sh does)" >&2
        exit 1
    fi
}

# publish_qcow2 RAW: convert to qcow2 next to $OUT and move it into place in
# one rename, so a reader never sees half an image. Cleanup traps remove $TMPOUT.
publish_qcow2() {
    TMPOUT=$(mktemp "$OUTDIR/.$(basename -- "$OUT").XXXXXX")
    qemu-img convert -f raw -O qcow2 "$1" "$TMPOUT" || die "qemu-img convert failed"
    chmod 644 "$TMPOUT"
    mv -f "$TMPOUT" "$OUT"
    TMPOUT=""
}
