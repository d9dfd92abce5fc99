#!/usr/bin/env bash
# bench/create.sh — time making an image from the 2 GiB raw disk:
#   imprint create --compress zstd:3   vs   zstd -T0 -3   vs   bmaptool create + zstd -T0 -3
# and, on a copy of the disk whose free ext4 blocks hold random bytes (disk-random.img, what
# an encrypted partition or an unknown filesystem looks like), the every-block path:
#   imprint create --all-blocks   vs   zstd -T0 -3 of that disk (alternated, same run)
# Prints wall seconds (median of BENCH_RUNS), peak RSS, output size, and the
# imprint/peer ratios next to the goals. Outputs are written to bench/work/ (disk).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
need zstd bmaptool openssl partx losetup "$GNU_TIME"
ensure_raw
q() { printf '%q' "$1"; }

# Each setup deletes only its own measurement's output, then warms/drops the cache.
setup_imprint() { rm -f "$IMG_IMPRINT"; prepare_run "$RAW"; }
setup_zstd() { rm -f "$IMG_ZST.bench"; prepare_run "$RAW"; }
setup_bmap() { rm -f "$IMG_BMAP.bench"; prepare_run "$RAW"; }

if imprint_warmup; then
    measure "imprint create zstd:3" setup_imprint "$IMG_IMPRINT" -- \
        "$(q "$IMPRINT") create --source $(q "$RAW") --output $(q "$IMG_IMPRINT") --compress zstd:3"
else
    skip "imprint create zstd:3" "no launcher at $IMPRINT"
fi
measure "zstd -T0 -3" setup_zstd "$IMG_ZST.bench" -- \
    "zstd -q -T0 -3 -c $(q "$RAW") > $(q "$IMG_ZST.bench")"
measure "bmaptool create" setup_bmap "$IMG_BMAP.bench" -- \
    "bmaptool -q create $(q "$RAW") > $(q "$IMG_BMAP.bench")"

# Keep the peers' outputs for restore.sh.
if [[ -s $IMG_ZST.bench ]]; then mv -f "$IMG_ZST.bench" "$IMG_ZST"; fi
if [[ -s $IMG_BMAP.bench ]]; then mv -f "$IMG_BMAP.bench" "$IMG_BMAP"; fi

bt=n/a bs=n/a
if isnum "${T_SEC[bmaptool create]}" && isnum "${T_SEC[zstd -T0 -3]}"; then
    bt=$(awk -v a="${T_SEC[bmaptool create]}" -v b="${T_SEC[zstd -T0 -3]}" 'BEGIN{printf "%.2f", a+b}')
    bs=$(("${T_SIZE[bmaptool create]}" + "${T_SIZE[zstd -T0 -3]}"))
fi
set_result "bmaptool create + zstd -T0 -3 (sum)" "$bt"
T_SIZE["bmaptool create + zstd -T0 -3 (sum)"]=$bs

# ---------------------------------------------------------------- every block, random free space
# disk-random.img: disk.img with ext4's free blocks overwritten by a seeded AES-CTR keystream
# (a file filling the mounted filesystem, then deleted). Made once, remade when disk.img changes.
RND=$BENCH_WORK/disk-random.img RND_IMPRINT=$BENCH_WORK/disk-random.imprint RND_ZST=$BENCH_WORK/disk-random.img.zst
if [[ ! -s $RND || $RND -ot $RAW ]]; then
    log "making $RND (free ext4 blocks filled with random bytes)"
    rm -f "$RND" && cp --sparse=always "$RAW" "$RND.tmp"
    read -r p_start p_sectors < <(partx -g -o START,SECTORS -n 2 "$RND.tmp")
    loop_attach RLOOP "$RND.tmp" $((p_start * 512)) $((p_sectors * 512))
    RMNT=$(mktemp -d "$BENCH_WORK/.mnt.XXXXXX")
    mount "$RLOOP" "$RMNT"
    head -c $((4 << 30)) /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff -iv 0 \
            2>/dev/null >"$RMNT/fill" || true # ends with ENOSPC: that is the point
    rm -f "$RMNT/fill"
    umount "$RMNT" && rmdir "$RMNT"
    losetup -d "$RLOOP"
    mv "$RND.tmp" "$RND"
fi
setup_rnd_imprint() { rm -f "$RND_IMPRINT"; prepare_run "$RND"; }
setup_rnd_zstd() { rm -f "$RND_ZST"; prepare_run "$RND"; }
if imprint_warmup; then
    alt_add "imprint create --all-blocks (random free)" setup_rnd_imprint \
        "$(q "$IMPRINT") create --source $(q "$RND") --output $(q "$RND_IMPRINT") --all-blocks --compress zstd:3"
fi
alt_add "zstd -T0 -3 (random free)" setup_rnd_zstd "zstd -q -T0 -3 -c $(q "$RND") > $(q "$RND_ZST")"
alt_run
# alt_run leaves no sizes: the last round's outputs are still there.
for r in "imprint create --all-blocks (random free):$RND_IMPRINT" "zstd -T0 -3 (random free):$RND_ZST"; do
    [[ -e ${r#*:} ]] && T_SIZE[${r%%:*}]=$(stat -c %s "${r#*:}")
done

say "raw image: $RAW ($(($(stat -c %s "$RAW") >> 20)) MiB, $(($(stat -c %b "$RAW") * 512 >> 20)) MiB allocated)"
print_table "create"

I="imprint create zstd:3"
say ""
say "ratios (imprint / peer) and goals"
goal "time  imprint / zstd -T0 -3" "$(ratio "${T_SEC[$I]}" "${T_SEC[zstd -T0 -3]}")" "<=" 1.0 x
goal "size  imprint / zstd -T0 -3" "$(ratio "${T_SIZE[$I]}" "${T_SIZE[zstd -T0 -3]}")" "<=" 1.0 x
goal "peak RSS imprint create" "$(mib "${T_RSS[$I]}")" "<=" 512 MiB
info "time  imprint / (bmaptool create + zstd)" "$(ratio "${T_SEC[$I]}" "$bt")" x
info "size  imprint / (bmap + zst)" "$(ratio "${T_SIZE[$I]}" "$bs")" x
A="imprint create --all-blocks (random free)" Z="zstd -T0 -3 (random free)"
goal "every block, random free space: time imprint / zstd" "$(ratio "${T_SEC[$A]:-}" "${T_SEC[$Z]}")" "<=" 1.0 x
info "every block, random free space: paired time ratio" "$(paired_median / "$A" "$Z")" x
info "every block, random free space: size imprint / zstd" "$(ratio "${T_SIZE[$A]:-}" "${T_SIZE[$Z]}")" x
rm -f "$RND_IMPRINT" "$RND_ZST"
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report create
