# shellcheck shell=bash
# Common pieces of the Imprint benchmark scripts. Source it; don't run it.
#
#   BENCH_RUNS   repetitions per measurement, the median wall time is reported (3)
#   BENCH_CACHE  warm (default) | cold   -- see bench/README.md "Caching policy"
#   IMPRINT      the imprint launcher (default: $REPO/imprint)
#   BENCH_WORK   work directory (default: $REPO/bench/work, gitignored)
#   BENCH_OUT    where result tables are saved (default: $REPO/bench/out, gitignored)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
IMPRINT=${IMPRINT:-$REPO/imprint}
BENCH_WORK=${BENCH_WORK:-$REPO/bench/work}
BENCH_OUT=${BENCH_OUT:-$REPO/bench/out}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CACHE=${BENCH_CACHE:-warm}
GNU_TIME=${GNU_TIME:-/usr/bin/time}

RAW=${RAW:-$BENCH_WORK/disk.img}            # the 2 GiB GPT image (bench/mkimage.sh)
IMG_IMPRINT=$BENCH_WORK/disk.imprint         # imprint create output
IMG_ZST=$BENCH_WORK/disk.img.zst             # zstd -T0 -3 output (bmaptool needs the .img.zst name)
IMG_BMAP=$BENCH_WORK/disk.bmap               # bmaptool create output
TMPFS=$BENCH_WORK/tmpfs
TMPFS_SIZE=${TMPFS_SIZE:-10G}

mkdir -p "$BENCH_WORK" "$BENCH_OUT"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "missing tool '$c' (see bench/README.md)"
    done
}

require_root() { [[ $(id -u) -eq 0 ]] || die "run as root (drop_caches, losetup, mount tmpfs)"; }

have_imprint() { [[ -x $IMPRINT ]]; }

# The launcher may (re)build its jar on first use: do that once, untimed, so
# no timed run pays for a Maven build. Safe to call many times.
_IMPRINT_WARM=0
imprint_warmup() {
    have_imprint || return 1
    ((_IMPRINT_WARM)) && return 0
    log "warming up $IMPRINT (builds the jar if it's stale; untimed)"
    "$IMPRINT" --help >/dev/null 2>&1 || "$IMPRINT" --version >/dev/null 2>&1 || true
    _IMPRINT_WARM=1
}

# ---------------------------------------------------------------- cleanup traps
# Register cleanup commands; they run in reverse order on exit/interrupt.
_CLEANUPS=()
on_exit() { _CLEANUPS+=("$*"); }
_run_cleanups() {
    local i
    for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${_CLEANUPS[i]}" || true
    done
    _CLEANUPS=()
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# Attach FILE[offset,size] read-only or read-write to a loop device; echo it.
# The device is detached on exit.
# Sets the variable named VAR to a new loop device; called directly (not inside $(...)) so the
# cleanup it registers survives in this shell.
loop_attach() { # VAR FILE OFFSET SIZELIMIT [ro]
    local dev
    local -a ro=()
    [[ ${5:-} == ro ]] && ro=(-r)
    dev=$(losetup -f --show "${ro[@]}" -o "$3" --sizelimit "$4" "$2")
    on_exit "losetup -d '$dev' 2>/dev/null"
    printf -v "$1" '%s' "$dev"
}

tmpfs_mount() {
    mkdir -p "$TMPFS"
    if ! mountpoint -q "$TMPFS"; then
        mount -t tmpfs -o "size=$TMPFS_SIZE,mode=0755" bench-tmpfs "$TMPFS"
        on_exit "umount '$TMPFS'"
    fi
}
tmpfs_clean() { find "$TMPFS" -mindepth 1 -delete; }

# ---------------------------------------------------------------- cache policy
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# Called before every timed run with the run's input files.
#  warm: flush dirty pages (so one run's writeback doesn't bill the next), then
#        read the inputs so they are in the page cache for every tool alike.
#  cold: flush and drop the page cache; the inputs come from disk.
prepare_run() { # INPUT...
    sync
    case $BENCH_CACHE in
    warm) local f; for f in "$@"; do cat -- "$f" >/dev/null; done ;;
    cold) echo 3 >/proc/sys/vm/drop_caches ;;
    *) die "BENCH_CACHE must be warm or cold, not '$BENCH_CACHE'" ;;
    esac
}

# ---------------------------------------------------------------- measuring
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n1; }

# Results, keyed by measurement name.
declare -A T_SEC=() T_RSS=() T_SIZE=() T_ALL=()
ROWS=()

# measure NAME SETUP_FN OUTPUT_FILE -- CMD...
#   Runs CMD BENCH_RUNS times under /usr/bin/time. Before each run: SETUP_FN
#   (cleans targets and calls prepare_run; untimed). CMD is a single command
#   line given to bash -c, so pipelines and '&'/wait work; the wall time
#   includes everything (JVM start-up too), RSS is the largest single
#   process's peak (GNU time's %M over the whole process tree).
#   OUTPUT_FILE ('-' for none) is measured after the last run.
#   Stores the median wall seconds in T_SEC[NAME], the max peak RSS (KiB) over
#   the runs in T_RSS[NAME], the output size in T_SIZE[NAME]; FAIL on error.
measure() {
    local name=$1 setup=$2 output=$3
    shift 3
    [[ $1 == -- ]] && shift
    local cmd=$*
    local -a secs=() rsss=()
    local i tf rc e m
    tf=$(mktemp "$BENCH_WORK/.time.XXXXXX")
    ROWS+=("$name")
    log "$name: $cmd"
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        # The launcher rebuilds its jar when sources are newer; others may be
        # editing them: rebuild (untimed) before every imprint run.
        if [[ $cmd == *"$IMPRINT"* ]]; then _IMPRINT_WARM=0; imprint_warmup || true; fi
        "$setup"
        rc=0
        "$GNU_TIME" -f '%e %M' -o "$tf" bash -c "set -o pipefail; $cmd" >"$BENCH_WORK/.last.out" 2>"$BENCH_WORK/.last.err" || rc=$?
        if ((rc != 0)); then
            log "$name: run $i failed (exit $rc); stderr tail:"
            tail -n 5 "$BENCH_WORK/.last.err" >&2 || true
            T_SEC[$name]=FAIL T_RSS[$name]=FAIL T_SIZE[$name]=FAIL T_ALL[$name]=FAIL
            rm -f "$tf"
            return 0
        fi
        read -r e m < <(tail -n1 "$tf")
        secs+=("$e")
        rsss+=("$m")
        log "$name: run $i: ${e}s, $((m / 1024)) MiB RSS"
    done
    rm -f "$tf"
    T_SEC[$name]=$(median "${secs[@]}")
    T_RSS[$name]=$(maxof "${rsss[@]}")
    T_ALL[$name]="${secs[*]}"
    if [[ $output != - && -e $output ]]; then
        T_SIZE[$name]=$(stat -c %s "$output")
    else
        T_SIZE[$name]=-
    fi
}

# skip NAME REASON: record a row that was not measured.
skip() {
    ROWS+=("$1")
    T_SEC[$1]=n/a T_RSS[$1]=n/a T_SIZE[$1]=n/a T_ALL[$1]="($2)"
    log "$1: skipped ($2)"
}

# set_result NAME SECONDS: a derived row (computed, not measured).
set_result() {
    ROWS+=("$1")
    T_SEC[$1]=$2 T_RSS[$1]=- T_SIZE[$1]=- T_ALL[$1]="(derived)"
}

isnum() { [[ ${1:-} =~ ^-?[0-9]+([.][0-9]+)?$ ]]; }

# ratio A B -> A/B with 2 decimals, or n/a
ratio() { if isnum "$1" && isnum "$2" && [[ $2 != 0 && $2 != 0.00 ]]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else echo n/a; fi; }

mib() { if isnum "$1"; then awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; else echo "$1"; fi; }
bytes_mib() { if isnum "$1"; then awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; else echo "$1"; fi; }

# ---------------------------------------------------------------- reporting
REPORT=""
say() { REPORT+="$*"$'\n'; printf '%s\n' "$*"; }

print_table() { # TITLE
    say ""
    say "== $1  (median of $BENCH_RUNS, cache: $BENCH_CACHE)"
    say "$(printf '%-44s %9s %9s %11s  %s' measurement 'wall s' 'RSS MiB' 'out MiB' 'all runs (s)')"
    local r
    for r in "${ROWS[@]}"; do
        say "$(printf '%-44s %9s %9s %11s  %s' "$r" "${T_SEC[$r]}" "$(mib "${T_RSS[$r]}")" "$(bytes_mib "${T_SIZE[$r]}")" "${T_ALL[$r]}")"
    done
}

GOALS_MET=0 GOALS_MISSED=0 GOALS_UNKNOWN=0
# goal LABEL VALUE OP LIMIT [UNIT]: prints one line, VALUE OP LIMIT must hold (OP: <= or >=)
goal() {
    local label=$1 value=$2 op=$3 limit=$4 unit=${5:-} verdict
    if isnum "$value"; then
        if awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN{exit !(op=="<=" ? v<=l : v>=l)}'; then
            verdict=MET; GOALS_MET=$((GOALS_MET + 1))
        else
            verdict=MISSED; GOALS_MISSED=$((GOALS_MISSED + 1))
        fi
    else
        verdict="n/a"; GOALS_UNKNOWN=$((GOALS_UNKNOWN + 1))
    fi
    say "$(printf '  %-58s %8s%-4s  goal %s %s%-4s  %s' "$label" "$value" "$(unit_if "$value" "$unit")" "$op" "$limit" "$unit" "$verdict")"
}
unit_if() { if isnum "$1" || [[ $1 == -* ]]; then printf '%s' "$2"; fi; }
# info LABEL VALUE UNIT: a ratio printed for information, no goal.
info() { say "$(printf '  %-58s %8s%-4s  (for information)' "$1" "$2" "$(unit_if "$2" "${3:-}")")"; }

save_report() { # NAME
    local f
    f="$BENCH_OUT/$1-$(date +%Y%m%d-%H%M%S).txt"
    {
        echo "# $1 — $(date -Is) — $(uname -r) — $(nproc) cores — $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
        echo "# IMPRINT=$IMPRINT  BENCH_RUNS=$BENCH_RUNS  BENCH_CACHE=$BENCH_CACHE"
        printf '%s' "$REPORT"
        echo "# TSV: name, median_s, max_rss_kib, size_bytes, runs"
        local r
        for r in "${ROWS[@]}"; do
            printf '%s\t%s\t%s\t%s\t%s\n' "$r" "${T_SEC[$r]}" "${T_RSS[$r]}" "${T_SIZE[$r]}" "${T_ALL[$r]}"
        done
    } >"$f"
    log "saved $f"
}

# ---------------------------------------------------------------- artifacts
ensure_raw() {
    [[ -f $RAW ]] || "$BENCH_DIR/mkimage.sh" "$RAW"
}

# The compressed images restore.sh needs; made (untimed) if create.sh hasn't.
ensure_zst() {
    ensure_raw
    if [[ ! -s $IMG_ZST || $IMG_ZST -ot $RAW ]]; then
        log "making $IMG_ZST"
        zstd -q -f -T0 -3 -o "$IMG_ZST" "$RAW"
    fi
}
ensure_bmap() {
    ensure_raw
    if [[ ! -s $IMG_BMAP || $IMG_BMAP -ot $RAW ]]; then
        log "making $IMG_BMAP"
        bmaptool -q create -o "$IMG_BMAP" "$RAW"
    fi
}
ensure_imprint_image() {
    ensure_raw
    imprint_warmup || return 1
    if [[ ! -s $IMG_IMPRINT || $IMG_IMPRINT -ot $RAW ]]; then
        log "making $IMG_IMPRINT"
        rm -f "$IMG_IMPRINT"
        "$IMPRINT" create --source "$RAW" --output "$IMG_IMPRINT" --compress zstd:3 >/dev/null
    fi
}

# ---------------------------------------------------------------- alternated runs
# For comparisons that must see the same machine: alt_add NAME SETUP_FN CMD for each
# command, then alt_run runs BENCH_RUNS rounds, each running every command once
# (the order rotated by one each round, so no command always goes first). Results
# land in T_SEC/T_RSS/T_ALL like measure's; T_ALL keeps the round order, so
# paired_median can compare the commands round by round.
ALT_NAMES=() ALT_SETUPS=() ALT_CMDS=()
alt_add() { ALT_NAMES+=("$1"); ALT_SETUPS+=("$2"); ALT_CMDS+=("$3"); }
alt_run() {
    local n=${#ALT_NAMES[@]} r k j name cmd rc e m tf
    local -A secs=() rsss=() failed=()
    tf=$(mktemp "$BENCH_WORK/.time.XXXXXX")
    for ((k = 0; k < n; k++)); do log "${ALT_NAMES[k]}: ${ALT_CMDS[k]}"; done
    for ((r = 0; r < BENCH_RUNS; r++)); do
        for ((k = 0; k < n; k++)); do
            j=$(((k + r) % n))
            name=${ALT_NAMES[j]} cmd=${ALT_CMDS[j]}
            [[ -n ${failed[$name]:-} ]] && continue
            if [[ $cmd == *"$IMPRINT"* ]]; then _IMPRINT_WARM=0; imprint_warmup || true; fi
            "${ALT_SETUPS[j]}"
            rc=0
            "$GNU_TIME" -f '%e %M' -o "$tf" bash -c "set -o pipefail; $cmd" >"$BENCH_WORK/.last.out" 2>"$BENCH_WORK/.last.err" || rc=$?
            if ((rc != 0)); then
                log "$name: round $((r + 1)) failed (exit $rc); stderr tail:"
                tail -n 5 "$BENCH_WORK/.last.err" >&2 || true
                failed[$name]=1
                continue
            fi
            read -r e m < <(tail -n1 "$tf")
            secs[$name]+="$e " rsss[$name]+="$m "
            log "$name: round $((r + 1)): ${e}s, $((m / 1024)) MiB RSS"
        done
    done
    rm -f "$tf"
    for ((k = 0; k < n; k++)); do
        name=${ALT_NAMES[k]}
        ROWS+=("$name")
        if [[ -n ${failed[$name]:-} ]]; then
            T_SEC[$name]=FAIL T_RSS[$name]=FAIL T_SIZE[$name]=- T_ALL[$name]=FAIL
            continue
        fi
        # shellcheck disable=SC2086
        T_SEC[$name]=$(median ${secs[$name]}) T_RSS[$name]=$(maxof ${rsss[$name]})
        T_SIZE[$name]=- T_ALL[$name]=${secs[$name]% }
    done
    ALT_NAMES=() ALT_SETUPS=() ALT_CMDS=()
}

# paired_median OP A B: the median over rounds of A OP B (OP: - or /), from two
# rows measured by the same alt_run; n/a if either failed.
paired_median() {
    local op=$1 a=${T_ALL[$2]:-} b=${T_ALL[$3]:-}
    [[ $a =~ ^[0-9] && $b =~ ^[0-9] ]] || { echo n/a; return; }
    # shellcheck disable=SC2046
    median $(paste <(tr ' ' '\n' <<<"$a") <(tr ' ' '\n' <<<"$b") |
        awk -v op="$op" '$1 != "" && $2 != "" {printf "%.3f\n", op == "-" ? $1 - $2 : ($2 == 0 ? 0 : $1 / $2)}')
}

# ---------------------------------------------------------------- nginx on loopback
# nginx_start ROOT: serves ROOT read-only on 127.0.0.1 (sendfile, no limits) until
# exit; sets NGX_BASE to its http://127.0.0.1:PORT.
nginx_start() {
    local root=$1 nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)} dir port pid i user_line=""
    [[ -x $nginx ]] || die "missing nginx (apt-get install -y nginx-light)"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
    dir=$(mktemp -d "$BENCH_WORK/.nginx.XXXXXX")
    on_exit "rm -rf '$dir'"
    mkdir -p "$dir/tmp"
    [[ $(id -u) -eq 0 ]] && user_line="user root;"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 4;
$user_line
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $root; }
}
CONF
    "$nginx" -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir" &
    pid=$!
    on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
    NGX_BASE=http://127.0.0.1:$port
    for ((i = 0; i < 200; i++)); do
        curl -s -o /dev/null "$NGX_BASE/" && break
        kill -0 "$pid" 2>/dev/null || die "nginx exited: $(cat "$dir/error.log" 2>/dev/null)"
        sleep 0.05
    done
    curl -s -o /dev/null "$NGX_BASE/" || die "nginx does not answer on $NGX_BASE"
    # Loopback must not go through a proxy the environment may name.
    export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
    log "nginx (pid $pid) serves $root at $NGX_BASE"
}

# imprint_info IMAGE FIELD: one number from `imprint info --json` (e.g. dataBytes, logicalSize).
imprint_info() {
    "$IMPRINT" info --source "$1" --json 2>/dev/null | grep -o "\"$2\": *[0-9]*" | head -n1 | grep -o '[0-9]*$'
}

# ---------------------------------------------------------------- engine's test classpath
# Builds engine's main and test classes offline and sets ENGINE_TEST_CP to run a main class
# from them (bench/fec.sh, bench/fecsim.sh).
engine_test_classpath() {
    need mvn java
    log "building engine's test classes (offline)"
    (cd "$REPO" && mvn -o -q -pl engine -am test-compile -Dspotless.apply.skip=true >/dev/null) \
        || die "build failed"
    local cp_file=$BENCH_WORK/engine-test.classpath
    (cd "$REPO" && mvn -o -q -pl engine dependency:build-classpath \
        -Dmdep.outputFile="$cp_file" >/dev/null) || die "cannot resolve engine's classpath offline"
    ENGINE_TEST_CP=$REPO/engine/target/classes:$REPO/engine/target/test-classes:$(cat "$cp_file")
}
