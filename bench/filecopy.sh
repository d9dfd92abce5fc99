#!/usr/bin/env bash
# bench/filecopy.sh — time the file-copy restore (restore without --erase) against
# cp -a and rsync -aHAX. The source: about 50,000 files from /usr plus four 100 MB files
# (two of them sparse, 10 MB of data each), on the work directory's filesystem. The target:
# an ext4 on a loop device that already holds an older copy of half of the tree (other
# content, older times), restored from a snapshot before every run so every tool starts
# from the same state. The tree and the target are different filesystems (no reflinks).
# Every timed command ends with `sync -f` of the target. Needs root (losetup, mount).
#   FC_FILES   files taken from /usr (50000)
#   FC_BASELINE another imprint launcher (an earlier build, say): its --noverify copy runs in the
#              same rounds, so before/after figures come from one machine state
#   FC_BACKING disk (default): the loop device's backing file on the work directory's disk;
#              ram: on a tmpfs, so the host disk (shared, and the larger part of the time on
#              a busy machine) drops out and the copiers themselves are compared
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need rsync cp tar mkfs.ext4 losetup mount "$GNU_TIME"

FC_FILES=${FC_FILES:-50000}
W=$BENCH_WORK/filecopy
TREE=$W/tree
BASE=$W/target-base.img
FC_BACKING=${FC_BACKING:-disk}
[[ $FC_BACKING =~ ^(disk|ram)$ ]] || die "FC_BACKING must be disk or ram"
IMG=$W/target.img
MNT=$W/mnt
RAM=$W/ram
mkdir -p "$W" "$MNT"
LOOP=""
detach() {
    if mountpoint -q "$MNT"; then umount "$MNT"; fi
    if [[ -n $LOOP ]]; then losetup -d "$LOOP" 2>/dev/null || true; fi
    LOOP=""
}
trap _run_cleanups EXIT
if [[ $FC_BACKING == ram ]]; then
    mkdir -p "$RAM"
    mountpoint -q "$RAM" || mount -t tmpfs -o size=8G "imprint-bench-fc-$$" "$RAM"
    IMG=$RAM/target.img
    on_exit "umount '$RAM'"
fi
on_exit detach

# ---------------------------------------------------------------- the tree (made once)
if [[ ! -f $W/tree.done ]]; then
    log "building the tree: $FC_FILES files from /usr and four 100 MB files"
    rm -rf "$TREE" && mkdir -p "$TREE"
    # head ends find early (SIGPIPE): not a failure here
    (cd / && { find usr -xdev \( -type f -o -type l \) 2>/dev/null || true; } | head -n "$FC_FILES" |
        tar -cf - --no-recursion -T - 2>/dev/null) | tar -xf - -C "$TREE" || true
    mkdir -p "$TREE/big"
    head -c 100M /dev/urandom >"$TREE/big/dense1.bin"
    head -c 100M /dev/urandom >"$TREE/big/dense2.bin"
    for s in 1 2; do
        truncate -s 100M "$TREE/big/sparse$s.img"
        for off in 0 30 60 90; do
            head -c 2500K /dev/urandom | dd of="$TREE/big/sparse$s.img" bs=1M seek=$off conv=notrunc status=none
        done
    done
    touch "$W/tree.done"
fi
FILES=$(find "$TREE" | wc -l)
DATA=$(du -s --block-size=1 "$TREE" | cut -f1) # allocated: holes aren't written

# ---------------------------------------------------------------- the starting state (made once)
if [[ ! -f $W/base.done ]]; then
    log "building the target's starting state: an older copy of half the tree"
    rm -f "$BASE" && truncate -s 6G "$BASE"
    mkfs.ext4 -q -F "$BASE"
    LOOP=$(losetup -f --show "$BASE")
    mount "$LOOP" "$MNT"
    (cd "$TREE" && find . \( -type f -o -type l \) | awk 'NR % 2 == 0' | tar -cf - --no-recursion -T -) | tar -xf - -C "$MNT"
    # older and different: half of those files get other content, all get old times
    find "$MNT" -type f -name '*.[ch]*' | awk 'NR % 2 == 0' | while read -r f; do printf old >"$f"; done
    find "$MNT" -exec touch -h -d '2001-01-01' {} +
    detach
    touch "$W/base.done"
fi

setup() {
    detach
    cp --sparse=always "$BASE" "$IMG"
    LOOP=$(losetup -f --show "$IMG")
    mount "$LOOP" "$MNT"
    sync
    case $BENCH_CACHE in
    warm) tar -cf - -C "$TREE" . | cat >/dev/null ;;
    cold) echo 3 >/proc/sys/vm/drop_caches ;;
    esac
}
on_exit "rm -f '$IMG'"

M=$(printf '%q' "$MNT")
S=$(printf '%q' "$TREE")
IMP=$(printf '%q' "$IMPRINT")
# Rounds alternate the four (alt_run), so a busy machine's slow spell is shared out; the
# ratios are medians of each round's own ratio.
alt_add "imprint restore (file copy) --noverify" setup \
    "$IMP restore --source $S --target $M --noprompt --noverify && sync -f $M"
alt_add "imprint restore (file copy), verifying" setup \
    "$IMP restore --source $S --target $M --noprompt && sync -f $M"
alt_add "cp -a" setup "cp -a $S/. $M/ && sync -f $M"
alt_add "rsync -aHAX" setup "rsync -aHAX $S/ $M/ && sync -f $M"
BL="baseline imprint (FC_BASELINE) --noverify"
if [[ -n ${FC_BASELINE:-} ]]; then
    [[ -x $FC_BASELINE ]] || die "FC_BASELINE must be an imprint launcher"
    "$FC_BASELINE" --help >/dev/null 2>&1 || true # builds its jar or archive once, untimed
    alt_add "$BL" setup "$(printf '%q' "$FC_BASELINE") restore --source $S --target $M --noprompt --noverify && sync -f $M"
fi
alt_run

# The disk's share: the tree's bytes written once, sequentially, onto the same target.
setup
DISK_S=$( { /usr/bin/time -f '%e' bash -c "dd if=/dev/zero of=$M/.seq bs=4M count=$((DATA / 4194304 + 1)) status=none && sync -f $M" >/dev/null; } 2>&1 | tail -n1)
detach

print_table "file copy: $FILES items, $((DATA / 1048576)) MiB of data onto ext4 on a loop device ($FC_BACKING) holding an older half copy"
I="imprint restore (file copy) --noverify"
V="imprint restore (file copy), verifying"
goal "imprint / cp -a" "$(paired_median / "$I" "cp -a")" "<=" 0.7
goal "imprint / rsync -aHAX" "$(paired_median / "$I" "rsync -aHAX")" "<=" 0.5
goal "verify's extra time (verifying / --noverify)" "$(paired_median / "$V" "$I")" "<=" 1.4
goal "imprint peak RSS" "$(mib "${T_RSS[$V]}")" "<=" 512 MiB
if [[ -n ${FC_BASELINE:-} ]]; then
    info "imprint / baseline (--noverify both)" "$(paired_median / "$I" "$BL")"
    info "baseline / cp -a" "$(paired_median / "$BL" "cp -a")"
    info "baseline / rsync -aHAX" "$(paired_median / "$BL" "rsync -aHAX")"
fi
info "writing the tree's bytes sequentially (dd + sync), s" "$DISK_S"
info "disk's share of imprint's copy (sequential write / copy)" "$(ratio "$DISK_S" "${T_SEC[$I]}")"
save_report filecopy
