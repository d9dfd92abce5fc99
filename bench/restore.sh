#!/usr/bin/env bash
# bench/restore.sh [disk|tmpfs|all] — time restoring the 2 GiB image:
#  (a) disk:  one target file on the work dir's (disk) filesystem:
#             imprint (--noverify, and verifying) vs zstd -dc | dd oflag=direct
#             vs bmaptool copy --bmap (which checks the bmap's SHA-256s)
#  (b) tmpfs: four targets on a tmpfs: imprint vs four parallel zstd -dc | dd vs
#             zstd -dc | tee; imprint to one target; the cost of writing 2 GiB to tmpfs
#  (c) tmpfs: verification overhead (imprint verify vs --noverify)
#  (d) peak RSS with four targets
# Every timed command ends with `sync` on its disk target, so all tools are
# billed for getting the bytes to the device. Needs root (tmpfs mount, drop_caches).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WHAT=${1:-all}
[[ $WHAT =~ ^(disk|tmpfs|all)$ ]] || die "usage: bench/restore.sh [disk|tmpfs|all]"
require_root
need zstd bmaptool dd tee "$GNU_TIME"
ensure_zst
ensure_bmap
IMPRINT_OK=1
ensure_imprint_image || { IMPRINT_OK=0; log "no imprint image (launcher $IMPRINT missing or create failed): imprint rows skipped"; }
q() { printf '%q' "$1"; }
RAW_BYTES=$(stat -c %s "$RAW")
DISK_T=$BENCH_WORK/target.img
IMP=$(q "$IMPRINT")
SRC=$(q "$IMG_IMPRINT")
ZST=$(q "$IMG_ZST")
T=$(q "$DISK_T")
on_exit "rm -f '$DISK_T'"

# imprint_row NAME SETUP OUTPUT CMD: measure, or skip when there is no imprint.
imprint_row() {
    if ((IMPRINT_OK)); then measure "$1" "$2" "$3" -- "$4"; else skip "$1" "imprint not available"; fi
}

# Targets are recreated before every run as sparse files of the image's size
# (so a tool that needs an existing target of the right size finds one).
disk_setup() {
    rm -f "$DISK_T"
    truncate -s "$RAW_BYTES" "$DISK_T"
    prepare_run "$IMG_IMPRINT" "$IMG_ZST" "$IMG_BMAP"
}
tmpfs_setup() {
    tmpfs_clean
    local i
    for i in 1 2 3 4; do truncate -s "$RAW_BYTES" "$TMPFS/t$i"; done
    prepare_run "$IMG_IMPRINT" "$IMG_ZST"
}
tmpfs_raw_setup() {
    tmpfs_clean
    prepare_run "$RAW"
}
[[ -f $IMG_IMPRINT ]] || IMG_IMPRINT=/dev/null # prepare_run must have something to read

# ---------------------------------------------------------------- (a) one disk target
if [[ $WHAT == disk || $WHAT == all ]]; then
    imprint_row "A imprint restore 1 disk --noverify" disk_setup - \
        "$IMP restore --source $SRC --target $T --erase --noprompt --noverify && sync $T"
    imprint_row "A imprint restore 1 disk (verify)" disk_setup - \
        "$IMP restore --source $SRC --target $T --erase --noprompt && sync $T"
    measure "A zstd -dc | dd oflag=direct" disk_setup - -- \
        "zstd -q -dc $ZST | dd of=$T bs=4M iflag=fullblock oflag=direct status=none && sync $T"
    measure "A bmaptool copy --bmap" disk_setup - -- \
        "bmaptool -q copy --bmap $(q "$IMG_BMAP") $ZST $T && sync $T"
    rm -f "$DISK_T"
fi

# ---------------------------------------------------------------- (b,c,d) tmpfs targets
if [[ $WHAT == tmpfs || $WHAT == all ]]; then
    tmpfs_mount
    on_exit "find '$TMPFS' -mindepth 1 -delete"
    t() { q "$TMPFS/t$1"; }
    FOUR="--target $(t 1) --target $(t 2) --target $(t 3) --target $(t 4)"

    imprint_row "B imprint restore 4 tmpfs --noverify" tmpfs_setup - \
        "$IMP restore --source $SRC $FOUR --erase --noprompt --noverify"
    imprint_row "B imprint restore 1 tmpfs --noverify" tmpfs_setup - \
        "$IMP restore --source $SRC --target $(t 1) --erase --noprompt --noverify"
    measure "B 4 x parallel zstd -dc | dd" tmpfs_setup - -- \
        "p=(); for i in 1 2 3 4; do (zstd -q -dc $ZST | dd of=$(q "$TMPFS")/t\$i bs=4M status=none) & p+=(\$!); done; for x in \"\${p[@]}\"; do wait \$x; done"
    measure "B zstd -dc | tee t1 t2 t3 > t4" tmpfs_setup - -- \
        "zstd -q -dc $ZST | tee $(t 1) $(t 2) $(t 3) > $(t 4)"
    measure "B zstd -dc | dd (1 tmpfs target)" tmpfs_setup - -- \
        "zstd -q -dc $ZST | dd of=$(t 1) bs=4M status=none"
    measure "B write 2 GiB raw to tmpfs (dd, cached)" tmpfs_raw_setup - -- \
        "dd if=$(q "$RAW") of=$(q "$TMPFS/x") bs=4M status=none"
    imprint_row "C imprint restore 1 tmpfs (verify)" tmpfs_setup - \
        "$IMP restore --source $SRC --target $(t 1) --erase --noprompt"
    imprint_row "C imprint restore 4 tmpfs (verify)" tmpfs_setup - \
        "$IMP restore --source $SRC $FOUR --erase --noprompt"
    tmpfs_clean

    ideal=n/a
    if isnum "${T_SEC[B imprint restore 1 tmpfs --noverify]}" && isnum "${T_SEC[B write 2 GiB raw to tmpfs (dd, cached)]}"; then
        ideal=$(awk -v a="${T_SEC[B imprint restore 1 tmpfs --noverify]}" -v w="${T_SEC[B write 2 GiB raw to tmpfs (dd, cached)]}" 'BEGIN{printf "%.2f", a+3*w}')
    fi
    set_result "B ideal 4 tmpfs = imprint 1 + 3 x write" "$ideal"
fi

print_table "restore ($WHAT)"
say ""
say "ratios (imprint / peer) and goals"
pct() { if isnum "$1" && isnum "$2"; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.0f", (a/b-1)*100}'; else echo n/a; fi; }
if [[ $WHAT == disk || $WHAT == all ]]; then
    goal "1 disk --noverify: imprint / bmaptool copy" "$(ratio "${T_SEC[A imprint restore 1 disk --noverify]}" "${T_SEC[A bmaptool copy --bmap]}")" "<=" 0.5 x
    goal "1 disk verify:     imprint / bmaptool copy" "$(ratio "${T_SEC[A imprint restore 1 disk (verify)]}" "${T_SEC[A bmaptool copy --bmap]}")" "<=" 0.7 x
    info "1 disk --noverify: imprint / zstd|dd" "$(ratio "${T_SEC[A imprint restore 1 disk --noverify]}" "${T_SEC[A zstd -dc | dd oflag=direct]}")" x
    info "1 disk verify overhead" "$(pct "${T_SEC[A imprint restore 1 disk (verify)]}" "${T_SEC[A imprint restore 1 disk --noverify]}")" %
fi
if [[ $WHAT == tmpfs || $WHAT == all ]]; then
    I4=${T_SEC[B imprint restore 4 tmpfs --noverify]}
    I1=${T_SEC[B imprint restore 1 tmpfs --noverify]}
    goal "4 tmpfs: imprint / 4 x parallel zstd|dd" "$(ratio "$I4" "${T_SEC[B 4 x parallel zstd -dc | dd]}")" "<=" 0.5 x
    goal "4 tmpfs: imprint / zstd|tee" "$(ratio "$I4" "${T_SEC[B zstd -dc | tee t1 t2 t3 > t4]}")" "<=" 0.8 x
    info "four-to-one: imprint 4 tmpfs / imprint 1 tmpfs" "$(ratio "$I4" "$I1")" x
    info "imprint 4 tmpfs / ideal (1 + 3 x tmpfs write)" "$(ratio "$I4" "$ideal")" x
    info "1 tmpfs: imprint / zstd|dd" "$(ratio "$I1" "${T_SEC[B zstd -dc | dd (1 tmpfs target)]}")" x
    goal "verify overhead, 1 tmpfs target" "$(pct "${T_SEC[C imprint restore 1 tmpfs (verify)]}" "$I1")" "<=" 35 %
    goal "verify overhead, 4 tmpfs targets" "$(pct "${T_SEC[C imprint restore 4 tmpfs (verify)]}" "$I4")" "<=" 35 %
    goal "peak RSS, 4 targets --noverify" "$(mib "${T_RSS[B imprint restore 4 tmpfs --noverify]}")" "<=" 512 MiB
    goal "peak RSS, 4 targets verify" "$(mib "${T_RSS[C imprint restore 4 tmpfs (verify)]}")" "<=" 512 MiB
fi
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report "restore-$WHAT"
