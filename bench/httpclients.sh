#!/usr/bin/env bash
# bench/httpclients.sh — Imprint's FastHttp (through HttpRangeReader) against Apache HttpClient 5
# for what a restore does over HTTP: parallel ranged GETs of a file from nginx on loopback, each
# range landing in a direct buffer. Alternated runs, one JVM each; prints throughput and CPU
# nanoseconds per byte (process CPU of the measured pass, all threads) and the medians.
#
#   SIZE_MB   size of the served file (default 300)
#   ROUNDS    alternated rounds (default 5)
#   CONNS     parallel connections (default 4, Imprint's default)
# Needs: nginx, a JDK, `mvn -o -pl engine compile` done, httpclient5 5.1.3 in ~/.m2.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SIZE_MB=${SIZE_MB:-300}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-4}
M2=${M2:-$HOME/.m2/repository}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
die() { echo "httpclients.sh: $*" >&2; exit 1; }
[[ -x $NGINX ]] || die "missing nginx"
[[ -d $ROOT/engine/target/classes/dev ]] || die "build the engine first: mvn -o -q -pl engine compile"

jar() { local j=$M2/$1; [[ -f $j ]] || die "missing $j"; printf '%s' "$j"; }
CP=$ROOT/engine/target/classes
CP+=:$(jar org/apache/httpcomponents/client5/httpclient5/5.1.3/httpclient5-5.1.3.jar)
CP+=:$(jar org/apache/httpcomponents/core5/httpcore5/5.1.3/httpcore5-5.1.3.jar)
CP+=:$(jar org/apache/httpcomponents/core5/httpcore5-h2/5.1.3/httpcore5-h2-5.1.3.jar)
CP+=:$(jar commons-codec/commons-codec/1.15/commons-codec-1.15.jar)
CP+=:$(jar org/slf4j/slf4j-api/1.7.36/slf4j-api-1.7.36.jar)

WORK=$(mktemp -d)
NGX_PID=
cleanup() { [[ -n $NGX_PID ]] && kill "$NGX_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/classes" "$WORK/www" "$WORK/tmp"
javac -q 2>/dev/null || true
javac -nowarn -d "$WORK/classes" -cp "$CP" "$HERE/httpclients/HttpClientsBench.java"
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/www/file.bin"
LENGTH=$(stat -c %s "$WORK/www/file.bin")

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
$([[ $(id -u) -eq 0 ]] && echo "user root;")
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  sendfile on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$PORT; root $WORK/www; }
}
CONF
"$NGINX" -e "$WORK/error.log" -c "$WORK/nginx.conf" -p "$WORK" &
NGX_PID=$!
URL=http://127.0.0.1:$PORT/file.bin
for _ in $(seq 100); do curl -sf -o /dev/null -r 0-0 "$URL" && break; sleep 0.05; done
curl -sf -o /dev/null -r 0-0 "$URL" || die "nginx does not answer"
cat "$WORK/www/file.bin" >/dev/null # in the page cache before any client runs

run() { java -Xmx512m -XX:MaxDirectMemorySize=256m -cp "$WORK/classes:$CP" HttpClientsBench "$1" "$URL" "$LENGTH" "$CONNS" 2>/dev/null; }
: >"$WORK/results"
echo "file: $SIZE_MB MiB, $CONNS connections, $ROUNDS alternated rounds, $(nproc) CPUs"
for ((i = 1; i <= ROUNDS; i++)); do
    for c in fast hc5; do
        line=$(run "$c")
        echo "round $i: $line"
        echo "$line" >>"$WORK/results"
    done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for c in fast hc5; do
    mbs=$(awk -v c=$c '$1==c {print $2}' "$WORK/results" | median)
    cpu=$(awk -v c=$c '$1==c {print $4}' "$WORK/results" | median)
    echo "median $c: $mbs MB/s, $cpu cpu-ns/byte"
    eval "MBS_$c=$mbs CPU_$c=$cpu"
done
awk -v fm="$MBS_fast" -v hm="$MBS_hc5" -v fc="$CPU_fast" -v hc="$CPU_hc5" 'BEGIN {
    printf "hc5/fast: throughput %.2fx, CPU per byte %.2fx\n", hm / fm, hc / fc }'
