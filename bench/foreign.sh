#!/usr/bin/env bash
# bench/foreign.sh — restoring the images people already have, against the tool each comes with.
# The 2 GiB benchmark disk (bench/mkimage.sh) converted, untimed, to:
#   qcow2 (qemu-img convert -O qcow2), compressed qcow2 (-c), VHDX (-O vhdx),
#   Android sparse (img2simg), and a .bmap beside the raw image (bmaptool create).
# Then, to one target file on the work dir's (disk) filesystem:
#   imprint restore from each (verifying, and --noverify)
#   vs qemu-img convert -n -O raw / simg2img / bmaptool copy writing the same target;
# and `imprint create` from the compressed qcow2 vs `qemu-img convert -O raw` of it.
# Every timed restore ends with `sync` on its target. A format imprint does not read yet
# (no "Container:" line in `imprint info`, or no --bmap option) gets a "not yet supported" row.
# Needs root (drop_caches in cold mode), qemu-img (qemu-utils), img2simg/simg2img
# (android-sdk-libsparse-utils), bmaptool (bmap-tools).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
need qemu-img img2simg simg2img bmaptool "$GNU_TIME"
ensure_raw
ensure_bmap
imprint_warmup || die "no imprint launcher at $IMPRINT"
q() { printf '%q' "$1"; }

QCOW2=$BENCH_WORK/disk.qcow2
QCOW2_C=$BENCH_WORK/disk-c.qcow2
VHDX=$BENCH_WORK/disk.vhdx
SIMG=$BENCH_WORK/disk.simg
made() { [[ -s $1 && ! $1 -ot $RAW ]]; }
made "$QCOW2" || { log "making $QCOW2"; qemu-img convert -f raw -O qcow2 "$RAW" "$QCOW2"; }
made "$QCOW2_C" || { log "making $QCOW2_C"; qemu-img convert -c -f raw -O qcow2 "$RAW" "$QCOW2_C"; }
made "$VHDX" || { log "making $VHDX"; qemu-img convert -f raw -O vhdx "$RAW" "$VHDX"; }
made "$SIMG" || { log "making $SIMG"; img2simg "$RAW" "$SIMG"; }

RAW_BYTES=$(stat -c %s "$RAW")
T=$BENCH_WORK/target.img
OUT_IMPRINT=$BENCH_WORK/foreign.imprint
OUT_RAW=$BENCH_WORK/foreign.raw
on_exit "rm -f '$T' '$OUT_IMPRINT' '$OUT_RAW'"
IMP=$(q "$IMPRINT")
QT=$(q "$T")

# A fresh sparse target of the disk's size before every run (a tool that needs an existing
# target finds one), and the run's input in the page cache (or not, with BENCH_CACHE=cold).
INPUT=$RAW
target_setup() {
    rm -f "$T"
    truncate -s "$RAW_BYTES" "$T"
    prepare_run "$INPUT"
}
create_setup() {
    rm -f "$OUT_IMPRINT" "$OUT_RAW"
    prepare_run "$QCOW2_C"
}

# Whether imprint reads FILE as a foreign container (its info names one).
imprint_reads() { "$IMPRINT" info --source "$1" 2>/dev/null | grep -q '^Container:'; }

# restore_rows LABEL FILE PEER_NAME PEER_CMD [IMPRINT_SOURCE_ARGS]
restore_rows() {
    local label=$1 file=$2 peer=$3 peer_cmd=$4 src=${5:-"--source $(q "$2")"}
    INPUT=$file
    measure "$label $peer" target_setup - -- "$peer_cmd && sync $QT"
    if [[ $label == bmap* ]] && ! "$IMPRINT" restore --help 2>/dev/null | grep -q -- '--bmap'; then
        skip "$label imprint restore (verify)" "not yet supported"
        skip "$label imprint restore --noverify" "not yet supported"
        return
    fi
    if [[ $label != bmap* ]] && ! imprint_reads "$file"; then
        skip "$label imprint restore (verify)" "not yet supported"
        skip "$label imprint restore --noverify" "not yet supported"
        return
    fi
    measure "$label imprint restore (verify)" target_setup - -- \
        "$IMP restore $src --target $QT --erase --noprompt && sync $QT"
    measure "$label imprint restore --noverify" target_setup - -- \
        "$IMP restore $src --target $QT --erase --noprompt --noverify && sync $QT"
}

restore_rows "qcow2" "$QCOW2" "qemu-img convert" \
    "qemu-img convert -n -f qcow2 -O raw $(q "$QCOW2") $QT"
restore_rows "qcow2 -c" "$QCOW2_C" "qemu-img convert" \
    "qemu-img convert -n -f qcow2 -O raw $(q "$QCOW2_C") $QT"
restore_rows "vhdx" "$VHDX" "qemu-img convert" \
    "qemu-img convert -n -f vhdx -O raw $(q "$VHDX") $QT"
restore_rows "sparse" "$SIMG" "simg2img" "simg2img $(q "$SIMG") $QT"
restore_rows "bmap" "$RAW" "bmaptool copy" \
    "bmaptool -q copy --bmap $(q "$IMG_BMAP") $(q "$RAW") $QT" \
    "--source $(q "$RAW") --bmap $(q "$IMG_BMAP")"
rm -f "$T"

measure "create from qcow2 -c: imprint create" create_setup "$OUT_IMPRINT" -- \
    "$IMP create --source $(q "$QCOW2_C") --output $(q "$OUT_IMPRINT") && sync $(q "$OUT_IMPRINT")"
measure "create from qcow2 -c: qemu-img convert -O raw" create_setup "$OUT_RAW" -- \
    "qemu-img convert -f qcow2 -O raw $(q "$QCOW2_C") $(q "$OUT_RAW") && sync $(q "$OUT_RAW")"
rm -f "$OUT_IMPRINT" "$OUT_RAW"

print_table "foreign containers, one disk target"
say ""
say "ratios (imprint / the format's own tool) and goals"
for pair in "qcow2|qemu-img convert" "qcow2 -c|qemu-img convert" "vhdx|qemu-img convert" \
    "sparse|simg2img" "bmap|bmaptool copy"; do
    label=${pair%%|*} peer=${pair#*|}
    goal "$label, verify:     imprint / $peer" \
        "$(ratio "${T_SEC[$label imprint restore (verify)]}" "${T_SEC[$label $peer]}")" "<=" 0.7 x
    goal "$label, --noverify: imprint / $peer" \
        "$(ratio "${T_SEC[$label imprint restore --noverify]}" "${T_SEC[$label $peer]}")" "<=" 0.5 x
done
goal "create from qcow2 -c: imprint / qemu-img convert -O raw" \
    "$(ratio "${T_SEC[create from qcow2 -c: imprint create]}" "${T_SEC[create from qcow2 -c: qemu-img convert -O raw]}")" "<=" 1.0 x
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report foreign
