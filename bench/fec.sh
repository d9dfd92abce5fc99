#!/usr/bin/env bash
# Reed-Solomon encode/decode throughput, HMAC per datagram and SHA-256 per core (CPU time of the
# measuring thread, so a busy machine slows the run, not the figures), and what a 50 MB/s stream
# costs the server and a client. Runs engine's FecBench from the test classpath.
#
#   bench/fec.sh [seconds-per-measurement]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECONDS_EACH=${1:-3}
need mvn java
cd "$REPO"
log "building engine's test classes (offline)"
mvn -o -q -pl engine -am test-compile -Dspotless.apply.skip=true >/dev/null || die "build failed"
CP_FILE=$BENCH_WORK/engine-test.classpath
mvn -o -q -pl engine dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null \
    || die "cannot resolve engine's classpath offline"
CP=engine/target/classes:engine/target/test-classes:$(cat "$CP_FILE")
OUT=$BENCH_OUT/fec-$(date +%Y%m%d-%H%M%S).txt
{
    for kr in "100 10" "100 20" "200 20" "50 5"; do
        # shellcheck disable=SC2086
        java -cp "$CP" dev.imprint.engine.fec.FecBench $kr 1400 "$SECONDS_EACH"
        echo
    done
} | tee "$OUT"
log "saved $OUT"
