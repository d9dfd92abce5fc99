#!/usr/bin/env bash
# The scale simulation of issue 12: a 16 MiB image carouselled with Reed-Solomon FEC to 1,000
# simulated clients at 5% random loss and 10 at 20% bursty loss, in process, driving the real
# encoder, MAC and layout (a sample of clients also runs the real reception and must end exact);
# loops and repair bytes each client needed, and a plain carousel without FEC for comparison.
#
#   bench/fecsim.sh [clients] [MiB]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CLIENTS=${1:-1000}
MIB=${2:-16}
need mvn java
cd "$REPO"
log "building engine's test classes (offline)"
mvn -o -q -pl engine -am test-compile -Dspotless.apply.skip=true >/dev/null || die "build failed"
CP_FILE=$BENCH_WORK/engine-test.classpath
mvn -o -q -pl engine dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null \
    || die "cannot resolve engine's classpath offline"
CP=engine/target/classes:engine/target/test-classes:$(cat "$CP_FILE")
OUT=$BENCH_OUT/fecsim-$(date +%Y%m%d-%H%M%S).txt
java -Xmx2g -cp "$CP" dev.imprint.engine.multicast.FecSimulation "$CLIENTS" "$MIB" | tee "$OUT"
log "saved $OUT"
