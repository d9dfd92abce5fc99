#!/usr/bin/env bash
# bench/create.sh — time making an image from the 2 GiB raw disk:
#   imprint create --compress zstd:3   vs   zstd -T0 -3   vs   bmaptool create + zstd -T0 -3
# Prints wall seconds (median of BENCH_RUNS), peak RSS, output size, and the
# imprint/peer ratios next to the goals. Outputs are written to bench/work/ (disk).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
need zstd bmaptool "$GNU_TIME"
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
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report create
