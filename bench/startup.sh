#!/usr/bin/env bash
# bench/startup.sh [sample|http|floor|all] — Imprint's fixed costs, each against its
# reference in the same run, the commands alternated round by round (median of BENCH_RUNS, 5):
#  (a) sample: restoring the bundled conf/sample.imprint (16 MiB disk) to a file, --noverify,
#      through the launcher  vs  bmaptool copy of the same disk  vs  zstd -dc | dd.
#      Goal: imprint <= 5 x bmaptool copy.
#  (b) http:   the HTTP restore's extra fixed cost: the 2 GiB bench disk's image (586 MiB of
#      data) restored --noverify to a tmpfs file from nginx on loopback minus the same from the
#      local file. Goal <= 0.2 s (median of the per-round differences).
#  (c) floor:  a verified restore of the bench disk imaged --all-blocks (about 1.8 GB of data)
#      onto a loop device with --direct-io=on  vs  the device's own floor in the same rounds:
#      dd oflag=direct of the image's data bytes plus dd iflag=direct reading them back.
#      Goal: imprint <= 1.15 x floor.
#   IMPRINT_BEFORE  another launcher (e.g. a copy of an older build: the launcher, cli/target/imprint.jar,
#                   conf/sample.imprint) whose sample restore joins (a)'s rounds, for before/after.
# Needs root (loop devices, tmpfs, drop_caches). Reports go to bench/out/startup-<what>-<date>.txt.
set -euo pipefail
: "${BENCH_RUNS:=5}"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WHAT=${1:-all}
[[ $WHAT =~ ^(sample|http|floor|all)$ ]] || die "usage: bench/startup.sh [sample|http|floor|all]"
require_root
need zstd bmaptool dd losetup curl "$GNU_TIME"
imprint_warmup || die "no launcher at $IMPRINT: every row here needs imprint"
q() { printf '%q' "$1"; }
IMP=$(q "$IMPRINT")
want() { [[ $WHAT == "$1" || $WHAT == all ]]; }

# ---------------------------------------------------------------- (a) the bundled sample
if want sample; then
    SAMPLE=${SAMPLE:-$(dirname "$IMPRINT")/conf/sample.imprint}
    [[ -f $SAMPLE ]] || SAMPLE=$REPO/conf/sample.imprint
    S_RAW=$BENCH_WORK/sample.img S_ZST=$BENCH_WORK/sample.img.zst S_BMAP=$BENCH_WORK/sample.bmap
    S_T=$BENCH_WORK/sample-target.img
    S_SIZE=$(imprint_info "$SAMPLE" logicalSize)
    [[ -n $S_SIZE ]] || die "imprint info cannot read $SAMPLE"
    # The peers get the same disk: restored once (verified), then compressed and mapped.
    if [[ ! -s $S_RAW || $S_RAW -ot $SAMPLE ]]; then
        log "making $S_RAW, $S_ZST, $S_BMAP from $SAMPLE"
        rm -f "$S_RAW" && truncate -s "$S_SIZE" "$S_RAW"
        "$IMPRINT" restore --source "$SAMPLE" --target "$S_RAW" --erase --noprompt >/dev/null
        zstd -q -f -T0 -3 -o "$S_ZST" "$S_RAW"
        bmaptool -q create -o "$S_BMAP" "$S_RAW"
    fi
    on_exit "rm -f '$S_T'"
    sample_setup() { rm -f "$S_T"; truncate -s "$S_SIZE" "$S_T"; prepare_run "$SAMPLE" "$S_ZST" "$S_BMAP"; }
    T=$(q "$S_T")
    # Imprint's CPU seconds (user + sys) per run, one line each: on a busy machine the wall time
    # follows the load, the CPU time much less.
    S_CPU=$BENCH_WORK/.sample-cpu S_CPU_BEFORE=$BENCH_WORK/.sample-cpu-before
    rm -f "$S_CPU" "$S_CPU_BEFORE"
    cpu() { printf '%q -a -o %q -f %%U+%%S' "$GNU_TIME" "$1"; }
    alt_add "S imprint restore sample --noverify" sample_setup \
        "$(cpu "$S_CPU") $IMP restore --source $(q "$SAMPLE") --target $T --erase --noprompt --noverify >/dev/null && sync $T"
    if [[ -n ${IMPRINT_BEFORE:-} ]]; then
        "$IMPRINT_BEFORE" --version >/dev/null 2>&1 || die "IMPRINT_BEFORE=$IMPRINT_BEFORE does not run"
        alt_add "S imprint BEFORE restore sample --noverify" sample_setup \
            "$(cpu "$S_CPU_BEFORE") $(q "$IMPRINT_BEFORE") restore --source $(q "$SAMPLE") --target $T --erase --noprompt --noverify >/dev/null && sync $T"
    fi
    alt_add "S bmaptool copy --bmap" sample_setup \
        "bmaptool -q copy --bmap $(q "$S_BMAP") $(q "$S_ZST") $T && sync $T"
    alt_add "S zstd -dc | dd oflag=direct" sample_setup \
        "zstd -q -dc $(q "$S_ZST") | dd of=$T bs=4M iflag=fullblock oflag=direct status=none && sync $T"
    alt_run
fi

# ---------------------------------------------------------------- (b) HTTP's fixed cost
if want http; then
    ensure_imprint_image || die "cannot make $IMG_IMPRINT"
    nginx_start "$BENCH_WORK"
    tmpfs_mount
    H_T=$TMPFS/http-target.img
    H_SIZE=$(imprint_info "$IMG_IMPRINT" logicalSize)
    http_setup() { tmpfs_clean; truncate -s "$H_SIZE" "$H_T"; prepare_run "$IMG_IMPRINT"; }
    T=$(q "$H_T")
    alt_add "H imprint restore local file --noverify" http_setup \
        "$IMP restore --source $(q "$IMG_IMPRINT") --target $T --erase --noprompt --noverify >/dev/null"
    alt_add "H imprint restore http --noverify" http_setup \
        "$IMP restore --source $(q "$NGX_BASE/$(basename "$IMG_IMPRINT")") --target $T --erase --noprompt --noverify >/dev/null"
    alt_run
    tmpfs_clean
fi

# ---------------------------------------------------------------- (c) the disk's floor
if want floor; then
    ensure_raw
    ALL=$BENCH_WORK/disk-all.imprint
    if [[ ! -s $ALL || $ALL -ot $RAW ]]; then
        log "making $ALL (create --all-blocks)"
        rm -f "$ALL"
        "$IMPRINT" create --source "$RAW" --output "$ALL" --all-blocks --compress zstd:3 >/dev/null
    fi
    DATA=$(imprint_info "$ALL" dataBytes)
    [[ -n $DATA ]] || die "imprint info cannot read $ALL"
    ((DATA >= 1500000000)) || log "warning: $ALL holds only $DATA data bytes (the goal wants >= 1.5 GB)"
    RAW_BYTES=$(stat -c %s "$RAW")
    # The loop device's backing file, fully written once so no run pays for allocating it.
    BACK=$BENCH_WORK/floor-backing.img
    if [[ $(stat -c %b "$BACK" 2>/dev/null || echo 0) -lt $((RAW_BYTES / 512)) ]]; then
        log "allocating $BACK"
        rm -f "$BACK"
        dd if=/dev/zero of="$BACK" bs=4M count=$((RAW_BYTES / 4194304)) status=none conv=fsync
        truncate -s "$RAW_BYTES" "$BACK"
    fi
    LOOP=$(losetup -f --show --direct-io=on "$BACK")
    on_exit "losetup -d '$LOOP' 2>/dev/null"
    [[ $(cat "/sys/block/$(basename "$LOOP")/loop/dio" 2>/dev/null) == 1 ]] ||
        die "$LOOP did not get direct I/O (losetup --direct-io=on needs a file system that supports O_DIRECT)"
    floor_setup() { prepare_run "$ALL" "$RAW"; }
    L=$(q "$LOOP")
    alt_add "F imprint restore verify (loop, direct-io)" floor_setup \
        "$IMP restore --source $(q "$ALL") --target $L --erase --noprompt >/dev/null && sync $L"
    alt_add "F floor: dd oflag=direct + dd iflag=direct" floor_setup \
        "dd if=$(q "$RAW") of=$L bs=4M count=$DATA iflag=count_bytes oflag=direct status=none && sync $L && dd if=$L of=/dev/null bs=4M count=$DATA iflag=direct,count_bytes status=none"
    alt_run
fi

print_table "fixed costs ($WHAT; alternated rounds)"
say ""
say "ratios and goals (per-round pairs: median over rounds)"
if want sample; then
    S=${T_SEC[S imprint restore sample --noverify]}
    info "sample restore, imprint seconds" "$S" s
    goal "sample: imprint / bmaptool copy" "$(ratio "$S" "${T_SEC[S bmaptool copy --bmap]}")" "<=" 5 x
    info "sample: imprint / zstd -dc | dd" "$(ratio "$S" "${T_SEC[S zstd -dc | dd oflag=direct]}")" x
    if [[ -n ${IMPRINT_BEFORE:-} ]]; then
        info "sample: imprint BEFORE / bmaptool copy" "$(ratio "${T_SEC[S imprint BEFORE restore sample --noverify]}" "${T_SEC[S bmaptool copy --bmap]}")" x
        info "sample: imprint / imprint BEFORE, paired" "$(paired_median / "S imprint restore sample --noverify" "S imprint BEFORE restore sample --noverify")" x
    fi
    info "sample: imprint / bmaptool copy, paired" "$(paired_median / "S imprint restore sample --noverify" "S bmaptool copy --bmap")" x
    # shellcheck disable=SC2046
    cpu_median() { [[ -s $1 ]] && median $(awk -F+ '/^[0-9.]+\+[0-9.]+$/ {printf "%.2f\n", $1 + $2}' "$1") || echo n/a; }
    info "sample: imprint CPU seconds (user+sys), median" "$(cpu_median "$S_CPU")" s
    [[ -n ${IMPRINT_BEFORE:-} ]] && info "sample: imprint BEFORE CPU seconds, median" "$(cpu_median "$S_CPU_BEFORE")" s
fi
if want http; then
    goal "http extra fixed cost: http - local file (paired)" \
        "$(paired_median - "H imprint restore http --noverify" "H imprint restore local file --noverify")" "<=" 0.2 s
    info "http / local file" "$(ratio "${T_SEC[H imprint restore http --noverify]}" "${T_SEC[H imprint restore local file --noverify]}")" x
fi
if want floor; then
    say "  (floor disk: $(awk -v b="$DATA" 'BEGIN{printf "%.2f GB", b/1e9}') of data in $(basename "$ALL"), loop device over $BACK)"
    goal "verified restore / disk floor (medians)" \
        "$(ratio "${T_SEC[F imprint restore verify (loop, direct-io)]}" "${T_SEC[F floor: dd oflag=direct + dd iflag=direct]}")" "<=" 1.15 x
    info "verified restore / disk floor, paired" \
        "$(paired_median / "F imprint restore verify (loop, direct-io)" "F floor: dd oflag=direct + dd iflag=direct")" x
fi
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report "startup-$WHAT"
