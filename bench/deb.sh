#!/usr/bin/env bash
# bench/deb.sh — does the packaged command start as fast as the launcher? Installs the .deb the
# build made (cli/target/imprint_*_all.deb; `mvn -o package` first), then alternates round by
# round (median of BENCH_RUNS, 5):
#   imprint --version                    via ./imprint  vs  /usr/bin/imprint
#   the sample restore (--noverify, to a file)  via ./imprint  vs  /usr/bin/imprint
# Goal: packaged / launcher <= 1.10 for both (the same JVM options and a class-data archive each:
# the launcher's in cli/target, the package's in /var/cache/imprint). Purges the package at the
# end unless it was installed before. Needs root (dpkg -i). Report: bench/out/deb-<date>.txt.
set -euo pipefail
: "${BENCH_RUNS:=5}"
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need dpkg "$GNU_TIME"
imprint_warmup || die "no launcher at $IMPRINT"
DEB=$(ls "$REPO"/cli/target/imprint_*_all.deb 2>/dev/null | head -n1 || true)
[[ -n $DEB ]] || die "no cli/target/imprint_*_all.deb: run mvn -o package (with dpkg-deb installed)"
if dpkg-query -W -f='${Status}' imprint 2>/dev/null | grep -q installed; then
    log "imprint is installed already: left installed, and replaced by $DEB for this run"
else
    on_exit "dpkg --purge imprint >/dev/null"
fi
dpkg -i "$DEB" >/dev/null
PKG=/usr/bin/imprint
SAMPLE=$REPO/conf/sample.imprint
T=$BENCH_WORK/deb-sample.img
on_exit "rm -f '$T'"
setup() { rm -f "$T"; truncate -s 16M "$T"; }
nothing() { :; }
# alt_run warms the launcher (an untimed run) before each of its rounds; the package gets the same.
warm_pkg() { "$PKG" --help >/dev/null 2>&1 || true; }
setup_pkg() { warm_pkg; setup; }
q() { printf '%q' "$1"; }
alt_add "launcher --version" nothing "$(q "$IMPRINT") --version >/dev/null"
alt_add "packaged --version" warm_pkg "$PKG --version >/dev/null"
alt_add "launcher sample restore" setup \
    "$(q "$IMPRINT") restore --source $(q "$SAMPLE") --target $(q "$T") --erase --noprompt --noverify >/dev/null"
alt_add "packaged sample restore" setup_pkg \
    "$PKG restore --source $(q "$SAMPLE") --target $(q "$T") --erase --noprompt --noverify >/dev/null"
alt_run
print_table "packaged command vs launcher ($(basename "$DEB"))"
say ""
say "ratios and goals (medians; paired: median over rounds of the per-round ratio)"
goal "--version: packaged / launcher" \
    "$(ratio "${T_SEC[packaged --version]}" "${T_SEC[launcher --version]}")" "<=" 1.10 x
info "--version: packaged / launcher, paired" "$(paired_median / "packaged --version" "launcher --version")" x
goal "sample restore: packaged / launcher" \
    "$(ratio "${T_SEC[packaged sample restore]}" "${T_SEC[launcher sample restore]}")" "<=" 1.10 x
info "sample restore: packaged / launcher, paired" \
    "$(paired_median / "packaged sample restore" "launcher sample restore")" x
say "goals: $GOALS_MET met, $GOALS_MISSED missed, $GOALS_UNKNOWN not measured"
save_report "deb"
