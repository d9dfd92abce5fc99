#!/usr/bin/env bash
# Multicast restore to 3 clients at 0%, 5% and 10% random loss per client, against udpcast
# (udp-sender/udp-receiver, with and without its --fec), all at the same Data Rate in network
# namespaces on one bridge. The image is the benchmark disk made with --all-blocks --compress none
# (>= 1 GB stored); udpcast sends that same image file, so both move the same bytes.
#
#   bench/multicast.sh            (root; RATE=50000000 bytes/s by default)
#   LOSSES="0 5" AUTORATE=0 UDPCAST_FEC=0 bench/multicast.sh   (some rows only)
#
# A udpcast receiver still running at UDPCAST_LIMIT (default 4) x W is stopped; its row says so.
#
# W = stored image bytes / RATE, the wire time. For each tool and loss: seconds from starting the
# 3 clients together until the last has written everything (imprint: its target enters
# "verifying"; udpcast: udp-receiver exits), and for imprint also until the last has verified.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need ip nft udp-sender udp-receiver java
RATE=${RATE:-50000000}
LOSSES=${LOSSES:-"0 5 10"}
GROUP=239.81.$((RANDOM % 200)).1
RDV=239.82.$((RANDOM % 200)).1
PORT=7800

cd "$REPO"
imprint_warmup || die "no imprint launcher"
[[ -f $RAW ]] || bench/mkimage.sh "$RAW"
IMG=$BENCH_WORK/disk-all-raw.imprint
if [[ ! -f $IMG ]]; then
    log "imaging $RAW with --all-blocks --compress none"
    "$IMPRINT" create --source "$RAW" --output "$IMG" --all-blocks --compress none >/dev/null ||
        die "create failed"
fi
STORED=$(stat -c %s "$IMG")
W=$(awk -v s="$STORED" -v r="$RATE" 'BEGIN {printf "%.2f", s / r}')
UDPCAST_LIMIT=${UDPCAST_LIMIT:-4}
UDPCAST_LIMIT_S=$(awk -v w="$W" -v l="$UDPCAST_LIMIT" 'BEGIN {printf "%d", w * l + 10}')
log "image $IMG: $STORED bytes stored; W = $W s at $RATE B/s"

# The clients ask for a receive buffer of a quarter second at Data Rate, as the client's warning
# tells users to allow; the kernel caps it at net.core.rmem_max (restored at exit).
RMEM_WAS=$(sysctl -n net.core.rmem_max)
if ((RMEM_WAS < 16777216)); then
    sysctl -q -w net.core.rmem_max=16777216
    on_exit "sysctl -q -w net.core.rmem_max=$RMEM_WAS"
fi

# ---------------------------------------------------------------- the LAN
ID=$(printf '%04x' $((RANDOM)))
BR=brbn$ID
NET=10.$((64 + RANDOM % 100)).$((RANDOM % 250))
SRV=mcbench-$ID-s
CLIENTS=(mcbench-$ID-c1 mcbench-$ID-c2 mcbench-$ID-c3)
ip link add "$BR" type bridge mcast_snooping 0
on_exit "ip link delete '$BR'"
ip link set "$BR" up
n=1
for ns in "$SRV" "${CLIENTS[@]}"; do
    ip netns add "$ns"
    on_exit "ip netns delete '$ns'"
    ip link add "vb$ID$n" type veth peer name lab0 netns "$ns"
    ip link set "vb$ID$n" master "$BR" up
    # The port cuts an offloaded send (UDP_SEGMENT, up to 44 datagrams in one packet) into
    # datagrams before the namespace's loss rule, as a NIC does on the wire: without it the rule
    # drops whole batches, and imprint's server, which sends so, met 44-datagram bursts of loss
    # where udpcast, which sends datagram by datagram, met single losses.
    ip link set "vb$ID$n" gso_max_segs 1
    ip -n "$ns" addr add "$NET.$n/24" dev lab0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set lab0 up
    ip -n "$ns" route add 224.0.0.0/4 dev lab0
    n=$((n + 1))
done
SRV_ADDR=$NET.1

set_loss() { # PERCENT
    local ns
    for ns in "${CLIENTS[@]}"; do
        ip netns exec "$ns" nft flush ruleset
        ((${1} > 0)) || continue
        ip netns exec "$ns" nft "add table inet bench; add chain inet bench input { type filter hook input priority 0 ; policy accept ; }; add rule inet bench input meta l4proto udp numgen random mod 100 < $1 drop"
    done
}

TMPFS_SIZE=${TMPFS_SIZE:-8G}
tmpfs_mount
now() { date +%s.%N; }

# ---------------------------------------------------------------- imprint
run_imprint() { # LOSS [DATA_RATE [--fixed-rate|""]] -> "written verified"
    tmpfs_clean
    local out=$BENCH_WORK/mcast-server.out
    local rate=${2:-$RATE} fixed=${3---fixed-rate}
    ip netns exec "$SRV" "$IMPRINT" server --source "$IMG" --data-rate "$rate" \
        --multicast-address "$GROUP" --port "$PORT" --dns-service-discovery false \
        $fixed --interface lab0 >"$out" 2>&1 &
    local server=$!
    local i
    for i in $(seq 600); do
        grep -q 'Ready to start accepting clients' "$out" && break
        sleep 0.1
    done
    local t0 pids=() c
    t0=$(now)
    for c in 0 1 2; do
        (
            ip netns exec "${CLIENTS[c]}" "$IMPRINT" restore --source "asr://$SRV_ADDR:$PORT" \
                --target "$TMPFS/c$c.img" --erase --noprompt --json --interface lab0 |
                while IFS= read -r line; do
                    [[ $line == *'"state":"verifying"'* ]] && now >"$TMPFS/c$c.written"
                    [[ $line == *'"event":"finished"'* ]] && { now >"$TMPFS/c$c.verified"; echo "$line" >"$TMPFS/c$c.result"; }
                done
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
    local written=0 verified=0 t
    for c in 0 1 2; do
        grep -q '"ok":true' "$TMPFS/c$c.result" 2>/dev/null || log "imprint client $c failed: $(cat "$TMPFS/c$c.result" 2>/dev/null)"
        cmp -s "$RAW" "$TMPFS/c$c.img" || log "imprint client $c: target differs from the disk"
        t=$(awk -v a="$(cat "$TMPFS/c$c.written" 2>/dev/null || echo 0)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
        written=$(maxof "$written" "$t")
        t=$(awk -v a="$(cat "$TMPFS/c$c.verified" 2>/dev/null || echo 0)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
        verified=$(maxof "$verified" "$t")
    done
    echo "$written $verified"
}

# ---------------------------------------------------------------- udpcast
run_udpcast() { # LOSS FEC(""|spec) -> "written"
    tmpfs_clean
    local fec=()
    [[ -n $2 ]] && fec=(--fec "$2")
    local mbit=$((RATE * 8 / 1000000))
    ip netns exec "$SRV" udp-sender --file "$IMG" --interface lab0 --mcast-rdv-address "$RDV" \
        --portbase 9000 --max-bitrate "${mbit}m" --min-receivers 3 --nokbd "${fec[@]}" \
        >"$BENCH_WORK/udp-sender.out" 2>&1 &
    local sender=$!
    sleep 1
    local t0 pids=() c
    t0=$(now)
    for c in 0 1 2; do
        # A receiver that never completes (udpcast --fec at 5% loss ran past 8 W) is stopped at
        # UDPCAST_LIMIT x W and its row says so.
        timeout "$UDPCAST_LIMIT_S" ip netns exec "${CLIENTS[c]}" udp-receiver \
            --file "$TMPFS/u$c.img" --interface lab0 \
            --mcast-rdv-address "$RDV" --portbase 9000 --nokbd >/dev/null 2>&1 &
        pids+=($!)
    done
    local stopped=""
    for c in "${pids[@]}"; do
        wait "$c" || stopped=" (stopped at ${UDPCAST_LIMIT}xW)"
    done
    local t1
    t1=$(now)
    # A sender whose receivers were stopped waits for them forever and ignores SIGTERM.
    [[ -n $stopped ]] && kill -KILL "$sender" 2>/dev/null
    wait "$sender" 2>/dev/null || true
    for c in 0 1 2; do
        cmp -s "$IMG" "$TMPFS/u$c.img" || log "udpcast receiver $c: file differs"
    done
    awk -v a="$t1" -v b="$t0" -v s="$stopped" 'BEGIN {printf "%.2f%s", a - b, s}'
}

OUT=$BENCH_OUT/multicast-$(date +%Y%m%d-%H%M%S).txt
{
    echo "multicast: 3 clients, image $STORED bytes stored, Data Rate $RATE B/s, W = $W s"
    printf '%-6s %-22s %10s %8s %10s %8s %12s\n' loss tool written_s xW verified_s xW vs_udpcast
    for loss in $LOSSES; do
        set_loss "$loss"
        log "loss $loss%: imprint"
        read -r iw iv < <(run_imprint "$loss")
        log "loss $loss%: udpcast"
        uw=$(run_udpcast "$loss" "")
        uf=skipped
        if [[ ${UDPCAST_FEC:-1} != 0 ]]; then
            log "loss $loss%: udpcast --fec 8x8/128"
            uf=$(run_udpcast "$loss" "8x8/128")
        fi
        best=$(printf '%s\n%s\n' "${uw%% *}" "${uf%% *}" | grep -v skipped | sort -g | head -n1)
        xw() { awk -v t="$1" -v w="$W" 'BEGIN {printf "%.2f", t / w}'; }
        ratio=$(awk -v a="$iw" -v b="$best" 'BEGIN {printf "%.2f", a / b}')
        printf '%-6s %-22s %10s %8s %10s %8s %12s\n' "$loss%" imprint "$iw" "$(xw "$iw")" "$iv" "$(xw "$iv")" "$ratio"
        printf '%-6s %-22s %10s %8s %10s %8s %12s\n' "$loss%" "udpcast" "$uw" "$(xw "${uw%% *}")" - - -
        printf '%-6s %-22s %10s %8s %10s %8s %12s\n' "$loss%" "udpcast --fec 8x8/128" "$uf" "$(xw "${uf%% *}")" - - -
    done
    echo "(vs_udpcast: imprint's written time / the faster udpcast's at the same loss, same run)"
    if [[ -n ${AUTORATE:-1} && ${AUTORATE:-1} != 0 ]]; then
        # The automatic rate: Data Rate 80 MB/s over a path of 30 MB/s (tbf on the server's side),
        # no --fixed-rate. Goal: within 1.25x the wire time at 30 MB/s.
        set_loss 0
        ip netns exec "$SRV" tc qdisc add dev lab0 root tbf rate 240mbit burst 256kb latency 50ms
        log "automatic rate: Data Rate 80 MB/s, path 30 MB/s"
        read -r aw av < <(run_imprint 0 80000000 "")
        ip netns exec "$SRV" tc qdisc del dev lab0 root
        w30=$(awk -v s="$STORED" 'BEGIN {printf "%.2f", s / 30000000}')
        echo "automatic rate (Data Rate 80 MB/s, path tbf 30 MB/s, W30 = $w30 s): written ${aw} s = $(awk -v t="$aw" -v w="$w30" 'BEGIN {printf "%.2f", t / w}') W30, verified ${av} s"
    fi
} | tee "$OUT"
log "saved $OUT"
