#!/usr/bin/env bash
# bench/http.sh — time restoring the 2 GiB image over HTTP from nginx on loopback:
#   H1 imprint restore from the local file (--noverify)        the baseline
#   H2 imprint restore --source http://127.0.0.1:PORT/disk.imprint (--noverify)
#   H3 curl -s URL/disk.img.zst | zstd -dc | dd oflag=direct
#   H4 bmaptool copy --bmap disk.bmap URL/disk.img.zst T
# Each timed command ends with `sync` on the target, as in restore.sh. nginx
# serves bench/work read-only on 127.0.0.1 (sendfile on, no rate limit), so
# the numbers measure the HTTP client side, not a network.
#
#   IMPRINT_HTTP_OPTS  extra options for the HTTP restore (e.g. "--connections 8")
#   NGINX              the nginx binary (default: nginx from PATH, /usr/sbin/nginx)
# BENCH_CACHE=cold needs root (drop_caches); warm (the default) does not.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $BENCH_CACHE == cold ]] && require_root
need curl zstd dd bmaptool "$GNU_TIME"
ensure_zst
ensure_bmap
IMPRINT_OK=1
ensure_imprint_image || { IMPRINT_OK=0; log "no imprint image (launcher $IMPRINT missing or create failed): imprint rows skipped"; }
[[ -f $IMG_IMPRINT ]] || IMG_IMPRINT=/dev/null

# ---------------------------------------------------------------- nginx on loopback
nginx_start "$BENCH_WORK"
BASE=$NGX_BASE

q() { printf '%q' "$1"; }
RAW_BYTES=$(stat -c %s "$RAW")
DISK_T=$BENCH_WORK/target.img
IMP=$(q "$IMPRINT")
SRC=$(q "$IMG_IMPRINT")
URL_IMPRINT=$BASE/$(basename "$IMG_IMPRINT")
URL_ZST=$BASE/$(basename "$IMG_ZST")
T=$(q "$DISK_T")
BMAP=$(q "$IMG_BMAP")
on_exit "rm -f '$DISK_T'"

disk_setup() {
    rm -f "$DISK_T"
    truncate -s "$RAW_BYTES" "$DISK_T"
    prepare_run "$IMG_IMPRINT" "$IMG_ZST" "$IMG_BMAP"
}

# Is the HTTP source wired into `imprint restore`? One untimed try.
HTTP_OK=$IMPRINT_OK
HTTP_WHY="imprint not available"
if ((IMPRINT_OK)); then
    disk_setup
    # shellcheck disable=SC2086
    if probe=$("$IMPRINT" restore --source "$URL_IMPRINT" --target "$DISK_T" --erase --noprompt --noverify ${IMPRINT_HTTP_OPTS:-} 2>&1); then
        log "imprint restores from $URL_IMPRINT"
    elif grep -qiE 'does not exist|check the path|unknown (source|scheme)|not supported|no such file|unsupported' <<<"$probe"; then
        HTTP_OK=0
        HTTP_WHY="imprint http source not wired yet"
        log "$HTTP_WHY: $(tail -n1 <<<"$probe")"
    else
        log "imprint restore from $URL_IMPRINT failed (the timed rows will say FAIL): $(tail -n1 <<<"$probe")"
    fi
fi

if ((IMPRINT_OK)); then
    measure "H1 imprint restore local --noverify" disk_setup - \
        "$IMP restore --source $SRC --target $T --erase --noprompt --noverify && sync $T"
else
    skip "H1 imprint restore local --noverify" "imprint not available"
fi
if ((HTTP_OK)); then
    measure "H2 imprint restore http --noverify" disk_setup - \
        "$IMP restore --source $(q "$URL_IMPRINT") --target $T --erase --noprompt --noverify ${IMPRINT_HTTP_OPTS:-} && sync $T"
else
    skip "H2 imprint restore http --noverify" "$HTTP_WHY"
fi
measure "H3 curl | zstd -dc | dd oflag=direct" disk_setup - \
    "curl -sf $(q "$URL_ZST") | zstd -dc | dd of=$T bs=4M iflag=fullblock oflag=direct conv=notrunc status=none && sync $T"
measure "H4 bmaptool copy http --bmap" disk_setup - \
    "bmaptool -q copy --bmap $BMAP $(q "$URL_ZST") $T && sync $T"

print_table "restore over HTTP (nginx on loopback)"
say ""
say "ratios"
H1=${T_SEC[H1 imprint restore local --noverify]}
H2=${T_SEC[H2 imprint restore http --noverify]}
info "imprint http / imprint local file" "$(ratio "$H2" "$H1")" x
info "imprint http / curl | zstd -dc | dd" "$(ratio "$H2" "${T_SEC[H3 curl | zstd -dc | dd oflag=direct]}")" x
info "imprint http / bmaptool copy http" "$(ratio "$H2" "${T_SEC[H4 bmaptool copy http --bmap]}")" x
info "imprint local / curl | zstd -dc | dd" "$(ratio "$H1" "${T_SEC[H3 curl | zstd -dc | dd oflag=direct]}")" x
((HTTP_OK)) || say "  note: $HTTP_WHY"
save_report http
