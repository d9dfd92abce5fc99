#!/usr/bin/env bash
# bench/station.sh — the cloning station against one restore to the same 8 drives.
#  (a) one `imprint restore` to 8 loop devices (the peer)
#  (b) `imprint station`, one drive alone (attach to done)
#  (c) `imprint station`, 8 drives attached at once: aggregate throughput vs (a), attach to first
#      write, peak RSS, chunks decoded per chunk of the image
#  (d) `imprint station`, 8 drives attached one per second: the last one's attach to done vs (b)
# Targets are loop devices over sparse files on a tmpfs of this run's own; the image is 192 MiB of
# compressible data in a 384 MiB disk. Each figure is one run (noisy on a shared machine).
# Needs root (tmpfs, losetup).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
need losetup "$GNU_TIME" python3 base64
have_imprint || die "no imprint launcher at $IMPRINT"
N=${STATION_DRIVES:-8}
W=$(mktemp -d "$BENCH_WORK/station-XXXXXX")
T=$W/targets
mkdir -p "$T"
mount -t tmpfs -o size=6g "imprint-bench-station-$$" "$T"
on_exit "umount -l '$T'; rm -rf '$W'"
on_exit "losetup -l -n -O NAME,BACK-FILE | awk -v d='$T/' 'index(\$2,d)==1{print \$1}' | xargs -r -n1 losetup -d"

RAW=$W/golden.img
DISK=$((384 << 20))
log "making the image"
head -c $((144 << 20)) /dev/urandom | base64 -w 0 | head -c $((192 << 20)) >"$RAW"
truncate -s $DISK "$RAW"
IMG=$W/golden.imprint
"$IMPRINT" create --source "$RAW" --output "$IMG" >/dev/null

fresh_targets() { # N
    local l
    for l in $(losetup -l -n -O NAME,BACK-FILE | awk -v d="$T/" 'index($2,d)==1{print $1}'); do losetup -d "$l"; done
    find "$T" -mindepth 1 -delete
    local i
    for ((i = 1; i <= $1; i++)); do truncate -s $DISK "$T/d$i.img"; done
}
now() { date +%s.%N; }

# (a) the peer: one restore to N loop devices
fresh_targets "$N"
LOOPS=()
for ((i = 1; i <= N; i++)); do LOOPS+=("$(losetup -f --show "$T/d$i.img")"); done
args=()
for l in "${LOOPS[@]}"; do args+=(--target "$l"); done
log "restore to $N drives"
sync
t0=$(now)
"$IMPRINT" restore --source "$IMG" "${args[@]}" --erase --noprompt >/dev/null
t1=$(now)
RESTORE_S=$(python3 -c "print($t1 - $t0)")

# station RUN: runs the station, attaching COUNT drives GAP seconds apart once it watches;
# sets ATTACH[i] (time), and leaves its timestamped JSON lines in $W/run.txt and its RSS (KiB)
# in $W/rss.txt.
station() { # COUNT GAP
    local count=$1 gap=$2
    fresh_targets "$count"
    rm -f "$W/run.txt" "$W/audit.jsonl"
    (
        "$GNU_TIME" -f %M -o "$W/rss.txt" "$IMPRINT" station --source "$IMG" --erase --json \
            --match "backing=$T/*" --probe-capacity never --once "$count" \
            --audit "$W/audit.jsonl" |
            while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$W/run.txt"
    ) &
    local pid=$!
    until grep -q '"event":"watching"' "$W/run.txt" 2>/dev/null; do sleep 0.05; done
    ATTACH=()
    local i
    for ((i = 1; i <= count; i++)); do
        ATTACH+=("$(now)")
        DEV[i]=$(losetup -f --show "$T/d$i.img")
        ((gap > 0 && i < count)) && sleep "$gap"
    done
    wait "$pid"
}
first_state() { # DEVICE STATE -> time of the first slot line
    awk -v d="\"device\":\"$1\"" -v s="\"state\":\"$2\"" 'index($0,d) && index($0,s) {print $1; exit}' "$W/run.txt"
}

log "station: one drive alone"
declare -a DEV
station 1 0
ONE_S=$(python3 -c "print($(first_state "${DEV[1]}" done) - ${ATTACH[0]})")

log "station: $N drives at once"
station "$N" 0
last=0
firsts=()
for ((i = 1; i <= N; i++)); do
    d=$(first_state "${DEV[i]}" done)
    w=$(first_state "${DEV[i]}" writing)
    last=$(python3 -c "print(max($last, $d))")
    firsts+=("$(python3 -c "print($w - ${ATTACH[i - 1]})")")
done
AT_ONCE_S=$(python3 -c "print($last - ${ATTACH[0]})")
RSS_KIB=$(tail -n1 "$W/rss.txt")
DECODED=$(grep '"event":"finished"' "$W/run.txt" | sed 's/.*"chunksDecoded":\([0-9]*\).*/\1/')
FIRST_WRITE_MAX=$(maxof "${firsts[@]}")

log "station: $N drives one per second"
station "$N" 1
LAST_S=$(python3 -c "print($(first_state "${DEV[N]}" done) - ${ATTACH[N - 1]})")

CHUNKS=$((192 / 4)) # data chunks: 192 MiB of data in 4 MiB chunks (create's default)
say ""
say "Station vs restore ($N drives of $((DISK >> 20)) MiB, image with $((192)) MiB of data; one run each)"
say "$(printf '  %-58s %8.2f s' "imprint restore to $N drives" "$RESTORE_S")"
say "$(printf '  %-58s %8.2f s' "station, $N attached at once (first attach to last done)" "$AT_ONCE_S")"
say "$(printf '  %-58s %8s' "aggregate throughput: station at once / restore" "$(ratio "$RESTORE_S" "$AT_ONCE_S")x")"
say "$(printf '  %-58s %8.2f s' "station, one drive alone (attach to done)" "$ONE_S")"
say "$(printf '  %-58s %8.2f s' "station, one per second: last drive's attach to done" "$LAST_S")"
say "$(printf '  %-58s %8s' "  ... / one drive alone (goal <= 1.5)" "$(ratio "$LAST_S" "$ONE_S")x")"
say "$(printf '  %-58s %8.2f s' "attach to first write, worst of $N at once (goal <= 1.0)" "$FIRST_WRITE_MAX")"
say "$(printf '  %-58s %8s MiB' "peak RSS of the station with $N drives" "$(mib "$RSS_KIB")")"
say "$(printf '  %-58s %8s' "chunks decoded / chunks in the image ($DECODED / $CHUNKS, $N drives)" "$(ratio "$DECODED" "$CHUNKS")")"
save_report station
