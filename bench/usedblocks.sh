#!/usr/bin/env bash
# bench/usedblocks.sh — Imprint's used-blocks-only images against partclone, the
# tool that has always copied only the blocks a filesystem uses:
#  (1) size: imprint's image (zstd:3) vs partclone per partition piped through
#      zstd -T0 -3, plus the GPT (sgdisk --backup); bmap + zstd of the raw disk
#      for reference
#  (2) restore to one target file on the work dir's (disk) filesystem:
#      imprint (verifying, and --noverify for reference) vs partclone
#      (sgdisk --load-backup, then zstd -dc | partclone -r into a loop device
#      at each partition's offset) vs bmaptool copy --bmap
#      and, for scale, the device's floor: imprint's data volume written with
#      O_DIRECT (4 streams) + sync, and that plus an O_DIRECT read-back
#  (3) untimed: e2fsck -fn (and fsck.vfat -n) on the partitions that imprint
#      and partclone restored, so only working restores are compared
# Every timed command ends with `sync` on its target. Needs root (losetup).
# Exit status 1 if a restored filesystem fails its check.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
need zstd bmaptool sgdisk partx losetup blkid e2fsck truncate "$GNU_TIME"
[[ $(stat -f -c %T "$BENCH_WORK") != tmpfs ]] || die "BENCH_WORK ($BENCH_WORK) is a tmpfs; the restore target must be on a disk filesystem"
ensure_zst
ensure_bmap
q() { printf '%q' "$1"; }
RAW_BYTES=$(stat -c %s "$RAW")
TABLE=$BENCH_WORK/table.gpt                  # sgdisk --backup of the raw image
PC_LOG=$BENCH_WORK/partclone.log             # partclone's log (it writes one anyway)
DISK_T=$BENCH_WORK/usedblocks-target.img     # the restore target, recreated before each run

# Loop devices on the target are attached inside the timed commands; detach
# whatever is left on it (only this script uses this file) on exit or failure.
detach_target_loops() {
    local d
    for d in $(losetup -n -O NAME -j "$DISK_T" 2>/dev/null); do losetup -d "$d" 2>/dev/null || true; done
}
on_exit "rm -f '$DISK_T'"
on_exit detach_target_loops

# ---------------------------------------------------------------- partitions
# From the raw image's partition table: number, byte offset, byte length, and
# the partclone tool for the filesystem blkid finds there.
P_NR=() P_OFF=() P_LEN=() P_FS=() P_TOOL=() P_DEV=()
# lib.sh's loop_attach registers its cleanup from inside $(...), where it is
# lost; attach here in the main shell so the exit trap sees the device.
attach_ro() { # FILE OFFSET LENGTH -> $DEV
    DEV=$(losetup -f --show -r -o "$2" --sizelimit "$3" "$1")
    on_exit "losetup -d '$DEV' 2>/dev/null"
}
pc_tool() { # TYPE VERSION -> partclone binary
    case $1 in
    vfat) [[ $2 == FAT32 ]] && echo partclone.fat32 || echo partclone.fat ;;
    ext4) echo partclone.ext4 ;;
    ext2 | ext3) echo partclone.extfs ;;
    *) return 1 ;;
    esac
}
while read -r nr start sectors; do
    off=$((start * 512)) len=$((sectors * 512))
    attach_ro "$RAW" "$off" "$len"
    fs=$(blkid -p -o value -s TYPE "$DEV" || true)
    ver=$(blkid -p -o value -s VERSION "$DEV" || true)
    tool=$(pc_tool "$fs" "$ver") || die "partition $nr: no partclone tool for filesystem '${fs:-none}'"
    need "$tool"
    P_NR+=("$nr") P_OFF+=("$off") P_LEN+=("$len") P_FS+=("$fs") P_TOOL+=("$tool")
    P_DEV+=("$DEV")
done < <(partx -g -o NR,START,SECTORS "$RAW")
((${#P_NR[@]})) || die "no partitions found in $RAW"
pc_img() { echo "$BENCH_WORK/p$1.pc.zst"; }

# ---------------------------------------------------------------- artifacts
# Cached in BENCH_WORK; remade when missing, empty or older than the raw image.
# Written to a temporary name first, so a failed run leaves nothing that looks current.
stale() { [[ ! -s $1 || $1 -ot $RAW ]]; }
if stale "$TABLE"; then
    log "making $TABLE"
    rm -f "$TABLE.tmp"
    sgdisk --backup="$TABLE.tmp" "$RAW" >/dev/null
    mv -f "$TABLE.tmp" "$TABLE"
fi
for i in "${!P_NR[@]}"; do
    out=$(pc_img "${P_NR[i]}")
    if stale "$out"; then
        log "making $out (${P_TOOL[i]} -c | zstd -T0 -3)"
        # partclone draws progress on stderr even with -q; keep it out of the report.
        if ! "${P_TOOL[i]}" -c -q -L "$PC_LOG" -s "${P_DEV[i]}" -o - 2>"$out.err" | zstd -q -T0 -3 >"$out.tmp"; then
            tail -n 8 "$out.err" >&2
            rm -f "$out.tmp"
            die "making $out failed"
        fi
        rm -f "$out.err"
        mv -f "$out.tmp" "$out"
    fi
done

# Imprint's image: also remade when the launcher's jar is newer than it (an
# image from before "used blocks only" would otherwise be measured).
IMPRINT_OK=1
if imprint_warmup; then
    jar=$(dirname "$(readlink -f "$IMPRINT")")/cli/target/imprint.jar
    if [[ -f $IMG_IMPRINT && -f $jar && $IMG_IMPRINT -ot $jar ]]; then
        log "$IMG_IMPRINT is older than $jar: remaking it"
        rm -f "$IMG_IMPRINT"
    fi
fi
ensure_imprint_image || { IMPRINT_OK=0; log "no imprint image (launcher $IMPRINT missing or create failed): imprint rows skipped"; }

# ---------------------------------------------------------------- (1) sizes
size() { if [[ -f $1 ]]; then stat -c %s "$1"; else echo n/a; fi; }
IMP_SIZE=n/a
((IMPRINT_OK)) && IMP_SIZE=$(size "$IMG_IMPRINT")
PC_SIZE=$(size "$TABLE")
for nr in "${P_NR[@]}"; do PC_SIZE=$((PC_SIZE + $(size "$(pc_img "$nr")"))); done
ZST_SIZE=$(size "$IMG_ZST") BMAP_SIZE=$(size "$IMG_BMAP")
BZ_SIZE=$((ZST_SIZE + BMAP_SIZE))

say "raw image: $RAW ($((RAW_BYTES >> 20)) MiB, $(($(stat -c %b "$RAW") * 512 >> 20)) MiB allocated)"
say ""
say "== image size"
size_row() { say "$(printf '  %-52s %14s  %9s MiB' "$1" "$2" "$(bytes_mib "$2")")"; }
size_row "imprint create (zstd:3)" "$IMP_SIZE"
for i in "${!P_NR[@]}"; do
    size_row "partclone p${P_NR[i]} (${P_TOOL[i]} -c | zstd -T0 -3)" "$(size "$(pc_img "${P_NR[i]}")")"
done
size_row "partclone GPT (sgdisk --backup)" "$(size "$TABLE")"
size_row "partclone total" "$PC_SIZE"
size_row "zstd -T0 -3 of the raw disk" "$ZST_SIZE"
size_row "bmaptool create (bmap file)" "$BMAP_SIZE"
size_row "bmap + zst total" "$BZ_SIZE"

# ---------------------------------------------------------------- (2) restore, one disk target
# partclone's restore as one command: the GPT first, then each partition's
# image through a loop device at its offset on the target; the loop device is
# flushed (fsync on a loop device reaches the backing file) and detached, and
# the target synced. Exported so the timed `bash -c` can call it.
pc_restore() { # TABLE TARGET LOG [OFFSET LENGTH TOOL IMAGE]...
    local table=$1 target=$2 logf=$3 off len tool img loop rc
    shift 3
    sgdisk --load-backup="$table" "$target" >/dev/null || return 1
    while (($# >= 4)); do
        off=$1 len=$2 tool=$3 img=$4
        shift 4
        loop=$(losetup -f --show -o "$off" --sizelimit "$len" "$target") || return 1
        rc=0
        zstd -q -dc "$img" | "$tool" -r -q -L "$logf" -s - -o "$loop" || rc=$?
        ((rc == 0)) && { sync "$loop" || rc=$?; }
        losetup -d "$loop" || rc=$?
        ((rc == 0)) || return "$rc"
    done
    sync "$target"
}
export -f pc_restore

IMP=$(q "$IMPRINT")
SRC=$(q "$IMG_IMPRINT")
T=$(q "$DISK_T")
PC_ARGS="$(q "$TABLE") $T $(q "$PC_LOG")"
PC_INPUTS=("$TABLE")
for i in "${!P_NR[@]}"; do
    PC_ARGS+=" ${P_OFF[i]} ${P_LEN[i]} ${P_TOOL[i]} $(q "$(pc_img "${P_NR[i]}")")"
    PC_INPUTS+=("$(pc_img "${P_NR[i]}")")
done

# Before every run (untimed): a fresh sparse target of the image's size, then
# the cache policy on that tool's inputs.
new_target() { detach_target_loops; rm -f "$DISK_T"; truncate -s "$RAW_BYTES" "$DISK_T"; }
setup_imprint() { new_target; prepare_run "$IMG_IMPRINT"; }
setup_partclone() { new_target; prepare_run "${PC_INPUTS[@]}"; }
setup_bmaptool() { new_target; prepare_run "$IMG_ZST" "$IMG_BMAP"; }

# ---------------------------------------------------------------- (3) checks
CHECKS=() CHECKS_FAILED=0
# check_target LABEL: fsck every partition of the target read-only (untimed).
check_target() {
    local label=$1 i dev verdict out rc cmd
    for i in "${!P_NR[@]}"; do
        # Attached to the target file, so detach_target_loops cleans up after a failure.
        dev=$(losetup -f --show -r -o "${P_OFF[i]}" --sizelimit "${P_LEN[i]}" "$DISK_T")
        rc=0
        case ${P_FS[i]} in
        ext2 | ext3 | ext4) cmd="e2fsck -fn" ;;
        vfat) cmd="fsck.vfat -n" ;;
        esac
        if command -v "${cmd%% *}" >/dev/null; then
            out=$($cmd "$dev" 2>&1) || rc=$?
        else
            out="${cmd%% *} missing" rc=-1
        fi
        losetup -d "$dev" || true
        if ((rc == 0)); then
            verdict=clean
        elif ((rc == -1)); then
            verdict="not checked ($out)"
        else
            verdict="FAILED (exit $rc)"
            CHECKS_FAILED=$((CHECKS_FAILED + 1))
            log "$label p${P_NR[i]}: check failed:"
            printf '%s\n' "$out" | tail -n 8 >&2
        fi
        CHECKS+=("$(printf '  %-10s p%s %-5s %-13s %s' "$label" "${P_NR[i]}" "${P_FS[i]}" "$cmd" "$verdict")")
    done
}
# After a measurement, the target holds its last run's restore.
check_if_ok() { # ROW LABEL
    if isnum "${T_SEC[$1]:-}"; then check_target "$2"; else CHECKS+=("  $2: not checked (${T_SEC[$1]:-not run})"); fi
}

# The device's floor for what imprint must do, measured on the same target in the same run:
# write imprint's data volume (random bytes from tmpfs, so reading them costs nothing) with
# O_DIRECT in 4 parallel streams of 4 MiB, then sync; and the same plus reading it all back with
# O_DIRECT (what a verifying restore adds). No decompression, no checks, no start-up.
FLOOR_SRC=/dev/shm/imprint-bench-floor.bin
floor_write() { # SRC TARGET BLOCKS [read]
    local src=$1 t=$2 n=$3 j per
    per=$(((n + 3) / 4))
    for j in 0 1 2 3; do
        dd if="$src" of="$t" bs=4M count=$per skip=$((j * per)) seek=$((j * per)) \
            oflag=direct conv=notrunc status=none &
    done
    wait
    sync "$t"
    [[ ${4:-} == read ]] || return 0
    for j in 0 1 2 3; do
        dd if="$t" of=/dev/null bs=4M count=$per skip=$((j * per)) iflag=direct status=none &
    done
    wait
}
export -f floor_write
FLOOR_BLOCKS=0
if ((IMPRINT_OK)); then
    data_bytes=$("$IMPRINT" info --source "$IMG_IMPRINT" --json | sed -n 's/.*"dataBytes": *\([0-9]*\).*/\1/p')
    if isnum "${data_bytes:-}" && [[ -d /dev/shm ]]; then
        FLOOR_BLOCKS=$(((data_bytes + (4 << 20) - 1) >> 22))
        on_exit "rm -f '$FLOOR_SRC'"
        head -c $((FLOOR_BLOCKS << 22)) /dev/urandom >"$FLOOR_SRC"
    fi
fi
setup_floor() { new_target; sync; }
R_FW="device floor: write data + sync"
R_FWR="device floor: write data + sync + read back"
if ((FLOOR_BLOCKS)); then
    measure "$R_FW" setup_floor - -- "floor_write $FLOOR_SRC $T $FLOOR_BLOCKS"
    measure "$R_FWR" setup_floor - -- "floor_write $FLOOR_SRC $T $FLOOR_BLOCKS read"
else
    skip "$R_FW" "no imprint image or no /dev/shm"
    skip "$R_FWR" "no imprint image or no /dev/shm"
fi

R_INV="imprint restore (verify)"
R_INN="imprint restore --noverify"
R_PC="partclone (sgdisk + zstd -dc | partclone -r)"
R_BM="bmaptool copy --bmap"
if ((IMPRINT_OK)); then
    measure "$R_INV" setup_imprint - -- \
        "$IMP restore --source $SRC --target $T --erase --noprompt && sync $T"
    check_if_ok "$R_INV" imprint
    measure "$R_INN" setup_imprint - -- \
        "$IMP restore --source $SRC --target $T --erase --noprompt --noverify && sync $T"
else
    skip "$R_INV" "imprint not available"
    skip "$R_INN" "imprint not available"
fi
measure "$R_PC" setup_partclone - -- "pc_restore $PC_ARGS"
check_if_ok "$R_PC" partclone
measure "$R_BM" setup_bmaptool - -- \
    "bmaptool -q copy --bmap $(q "$IMG_BMAP") $(q "$IMG_ZST") $T && sync $T"
detach_target_loops
rm -f "$DISK_T"

print_table "restore, 1 target on disk"
say ""
say "filesystem checks of the restored targets (untimed, read-only)"
for c in "${CHECKS[@]}"; do say "$c"; done
say ""
say "ratios (imprint / peer) and goals"
goal "size: imprint / partclone (parts + GPT)" "$(ratio "$IMP_SIZE" "$PC_SIZE")" "<=" 1.0 x
info "size: imprint / (bmap + zst)" "$(ratio "$IMP_SIZE" "$BZ_SIZE")" x
goal "restore verify: imprint / bmaptool copy" "$(ratio "${T_SEC[$R_INV]}" "${T_SEC[$R_BM]}")" "<=" 0.3 x
goal "restore verify: imprint / partclone" "$(ratio "${T_SEC[$R_INV]}" "${T_SEC[$R_PC]}")" "<=" 1.0 x
info "restore --noverify: imprint / bmaptool copy" "$(ratio "${T_SEC[$R_INN]}" "${T_SEC[$R_BM]}")" x
info "restore --noverify: imprint / partclone" "$(ratio "${T_SEC[$R_INN]}" "${T_SEC[$R_PC]}")" x
info "device floor (write + sync) / bmaptool copy" "$(ratio "${T_SEC[$R_FW]}" "${T_SEC[$R_BM]}")" x
info "device floor (write + sync + read back) / bmaptool copy" "$(ratio "${T_SEC[$R_FWR]}" "${T_SEC[$R_BM]}")" x
info "restore verify: imprint / its device floor" "$(ratio "${T_SEC[$R_INV]}" "${T_SEC[$R_FWR]}")" x
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
if ((CHECKS_FAILED)); then
    say "WARNING: $CHECKS_FAILED restored filesystem(s) failed their check; the timings above compare a broken restore"
fi
save_report usedblocks
((CHECKS_FAILED == 0)) || exit 1
