#!/usr/bin/env bash
# bench/mkimage.sh OUT.img
#
# Builds a realistic 2 GiB GPT disk image, deterministically, for the benchmarks:
#   p1  256 MiB  EFI System (ef00)  FAT32: a 12 MiB random "kernel", a zstd
#                                   "initrd", an EFI binary, boot-loader text files
#   p2  rest     Linux fs (8300)    ext4 (mke2fs -d) holding ~550 MiB of real
#                                   files copied from /usr (JDK 17, python3.11,
#                                   /usr/share/doc, /usr/share/man), and whose FREE
#                                   blocks hold "deleted data" (ELF libraries from
#                                   /usr/lib), as on a disk that has been used.
# The FAT's free space and the gaps around the partitions are zeros (holes in OUT).
#
# Cached: when OUT exists and OUT.stamp matches this script, nothing is done.
# Deterministic: fixed GUIDs/UUIDs/hash seed/volume id, seeded random data, a
# sorted file selection, fixed mtimes where we create files. (ext4 inode
# change times come from the copies made here, so ext4 metadata may differ by
# a few timestamps between builds; the data and layout don't.)
# Needs root only for the final loop-device checks (skipped otherwise).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: bench/mkimage.sh OUT.img"
OUT=$(realpath -m "$1")
need sgdisk mkfs.vfat mcopy mmd mke2fs e2fsck fsck.vfat openssl zstd tar

DISK_SIZE=$((2 * 1024 * 1024 * 1024))
ESP_MIB=256
CONTENT_MIB=${CONTENT_MIB:-560}           # cap on the real files copied into ext4
CONTENT_DIRS=(/usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/python3.11 /usr/share/doc /usr/share/man)
JUNK_DIR=/usr/lib/x86_64-linux-gnu        # source of the "deleted data" in free blocks
EPOCH=1700000000                          # fixed timestamps (2023-11-14)
DISK_GUID=6e8a2f0c-1d3b-4c5a-9e7f-0a1b2c3d4e5f
ESP_GUID=9d1e6c2b-3f4a-4b5c-8d6e-7f8091a2b3c4
ROOT_GUID=4f68bce3-e8cd-4db1-96e7-fbcaf984b709
FS_UUID=0b9c6f3e-7a1d-4e2b-8c5f-3d2a1b0c9e8d
HASH_SEED=5a3f1e2d-9c8b-4a7e-b6d5-c4e3f2a1b0c9
VFAT_ID=1A2B3C4D

STAMP="mkimage v1 $(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16) ${CONTENT_DIRS[*]} $CONTENT_MIB"
if [[ -f $OUT && -f $OUT.stamp && $(cat "$OUT.stamp") == "$STAMP" ]]; then
    log "$OUT is up to date (stamp matches); nothing to do"
    exit 0
fi

START=$SECONDS
BUILD=$OUT.build
rm -rf "$BUILD" "$OUT" "$OUT.stamp"
mkdir -p "$BUILD"
on_exit "rm -rf '$BUILD' '$OUT.tmp'"
export SOURCE_DATE_EPOCH=$EPOCH E2FSPROGS_FAKE_TIME=$EPOCH TZ=UTC LC_ALL=C

# ---------------------------------------------------------------- GPT layout
log "GPT layout"
truncate -s "$DISK_SIZE" "$OUT.tmp"
sgdisk -o -U "$DISK_GUID" \
    -n "1:2048:+${ESP_MIB}M" -t 1:ef00 -c "1:EFI System Partition" -u "1:$ESP_GUID" \
    -n 2:0:0 -t 2:8300 -c "2:Linux filesystem" -u "2:$ROOT_GUID" \
    "$OUT.tmp" >/dev/null
part_field() { # PARTNUM "First sector"|"Last sector"
    sgdisk -i "$1" "$OUT.tmp" | awk -v k="$2:" 'index($0, k) == 1 {print $3}'
}
P1_START=$(part_field 1 "First sector"); P1_END=$(part_field 1 "Last sector")
P2_START=$(part_field 2 "First sector"); P2_END=$(part_field 2 "Last sector")
P1_BYTES=$(((P1_END - P1_START + 1) * 512))
P2_BYTES=$(((P2_END - P2_START + 1) * 512))
log "p1 sectors $P1_START-$P1_END ($((P1_BYTES >> 20)) MiB), p2 sectors $P2_START-$P2_END ($((P2_BYTES >> 20)) MiB)"

# ---------------------------------------------------------------- ESP (FAT32)
log "ESP: FAT32 with kernel, initrd, loader files"
ESP_DIR=$BUILD/esp
mkdir -p "$ESP_DIR/EFI/BOOT" "$ESP_DIR/EFI/debian" "$ESP_DIR/loader/entries"
# "kernel": 12 MiB of seeded pseudo-random bytes (AES-CTR keystream), incompressible like a real bzImage
head -c $((12 * 1024 * 1024)) /dev/zero |
    openssl enc -aes-256-ctr -nosalt \
        -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
        -iv 00000000000000000000000000000000 >"$ESP_DIR/vmlinuz-6.1.0-bench-amd64"
# "initrd": a zstd-compressed archive of real files, like a dracut/initramfs-tools image
tar -C /usr/lib --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
    -cf - python3.11/email python3.11/json python3.11/asyncio python3.11/encodings |
    zstd -q -3 -c >"$ESP_DIR/initrd.img-6.1.0-bench-amd64"
cp /usr/lib/x86_64-linux-gnu/libc.so.6 "$ESP_DIR/EFI/BOOT/BOOTX64.EFI"
cp /usr/lib/x86_64-linux-gnu/libc.so.6 "$ESP_DIR/EFI/debian/shimx64.efi"
cat >"$ESP_DIR/EFI/debian/grub.cfg" <<EOF
search.fs_uuid $FS_UUID root
set prefix=(\$root)'/boot/grub'
configfile \$prefix/grub.cfg
EOF
printf 'default debian.conf\ntimeout 3\nconsole-mode keep\n' >"$ESP_DIR/loader/loader.conf"
cat >"$ESP_DIR/loader/entries/debian.conf" <<EOF
title   Debian GNU/Linux 12 (bench)
linux   /vmlinuz-6.1.0-bench-amd64
initrd  /initrd.img-6.1.0-bench-amd64
options root=UUID=$FS_UUID ro quiet
EOF
for i in $(seq 1 20); do
    printf 'startup.nsh line %d: fs0:\\EFI\\BOOT\\BOOTX64.EFI\n' "$i"
done >"$ESP_DIR/startup.nsh"
find "$ESP_DIR" -exec touch -h -d "@$EPOCH" {} +

truncate -s "$P1_BYTES" "$BUILD/esp.img"
mkfs.vfat -F 32 -n EFI -i "$VFAT_ID" --invariant "$BUILD/esp.img" >/dev/null
(cd "$ESP_DIR" && mcopy -i "$BUILD/esp.img" -s -m -Q ./* ::/)
fsck.vfat -n "$BUILD/esp.img" >/dev/null || die "fsck.vfat found problems in the ESP"

# ---------------------------------------------------------------- root (ext4)
log "ext4: selecting up to $CONTENT_MIB MiB of files from ${CONTENT_DIRS[*]}"
ROOT_DIR=$BUILD/root
mkdir -p "$ROOT_DIR"
find "${CONTENT_DIRS[@]}" -xdev \( -type f -o -type l \) -printf '%s\t%p\n' | sort -t $'\t' -k2,2 |
    awk -F '\t' -v cap=$((CONTENT_MIB * 1024 * 1024)) '{ if (sum + $1 > cap) exit; sum += $1; print $2 }' \
        >"$BUILD/files.lst"
log "copying $(wc -l <"$BUILD/files.lst") files"
tar -C / --no-recursion -cf - --verbatim-files-from -T <(sed 's|^/||' "$BUILD/files.lst") |
    tar -C "$ROOT_DIR" -xf -
mkdir -p "$ROOT_DIR"/{etc,home/user,var/log,tmp,boot/efi,root}
chmod 1777 "$ROOT_DIR/tmp"
echo bench-host >"$ROOT_DIR/etc/hostname"
cat >"$ROOT_DIR/etc/fstab" <<EOF
UUID=$FS_UUID / ext4 errors=remount-ro 0 1
UUID=${VFAT_ID:0:4}-${VFAT_ID:4:4} /boot/efi vfat umask=0077 0 1
EOF
cp /usr/share/common-licenses/GPL-3 "$ROOT_DIR/home/user/GPL-3.txt" 2>/dev/null || true
for i in $(seq 1 200); do echo "Nov 14 22:13:$((i % 60)) bench-host kernel: [$i.000000] bench log line $i"; done \
    >"$ROOT_DIR/var/log/kern.log"
find "$ROOT_DIR" -exec touch -h -d "@$EPOCH" {} +
log "ext4 content: $(du -sm --apparent-size "$ROOT_DIR" | cut -f1) MiB"

log "ext4: filling $((P2_BYTES >> 20)) MiB with old data from $JUNK_DIR, then mke2fs -d over it"
find "$JUNK_DIR" -maxdepth 1 -type f -name '*.so*' -size +64k -print0 | sort -z >"$BUILD/junk.lst"
set +o pipefail
while xargs -0 cat <"$BUILD/junk.lst"; do :; done 2>/dev/null | head -c "$P2_BYTES" >"$BUILD/root.img"
set -o pipefail
[[ $(stat -c %s "$BUILD/root.img") -eq $P2_BYTES ]] || die "junk fill came out short"
log "ext4: mke2fs -d"
mke2fs -q -F -t ext4 -b 4096 -L rootfs -U "$FS_UUID" \
    -E "nodiscard,lazy_itable_init=1,hash_seed=$HASH_SEED" \
    -d "$ROOT_DIR" "$BUILD/root.img"
log "ext4: e2fsck -fn"
e2fsck -fn "$BUILD/root.img" >"$BUILD/e2fsck.log" 2>&1 || { cat "$BUILD/e2fsck.log" >&2; die "e2fsck found problems"; }
rm -rf "$ROOT_DIR"

# ---------------------------------------------------------------- assemble
log "assembling $OUT"
dd if="$BUILD/esp.img" of="$OUT.tmp" bs=4M seek=$((P1_START * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
dd if="$BUILD/root.img" of="$OUT.tmp" bs=4M seek=$((P2_START * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
sync "$OUT.tmp"

# ---------------------------------------------------------------- verify
sgdisk -v "$OUT.tmp" | tee "$BUILD/sgdisk-v.log" | grep -q "No problems found" ||
    { cat "$BUILD/sgdisk-v.log" >&2; die "sgdisk -v found problems"; }
if [[ $(id -u) -eq 0 ]]; then
    d1='' d2=''
    loop_attach d1 "$OUT.tmp" $((P1_START * 512)) "$P1_BYTES" ro
    loop_attach d2 "$OUT.tmp" $((P2_START * 512)) "$P2_BYTES" ro
    fsck.vfat -n "$d1" >/dev/null || die "fsck.vfat failed on partition 1 ($d1)"
    e2fsck -fn "$d2" >"$BUILD/e2fsck2.log" 2>&1 || { cat "$BUILD/e2fsck2.log" >&2; die "e2fsck failed on partition 2 ($d2)"; }
    losetup -d "$d1" "$d2"
    log "loop checks passed: fsck.vfat -n p1, e2fsck -fn p2"
else
    log "not root: skipped loop-device checks of the assembled image"
fi
mdir -i "$OUT.tmp@@$((P1_START * 512))" ::/ >/dev/null || die "mtools can't read p1 inside the image"

mv "$OUT.tmp" "$OUT"
echo "$STAMP" >"$OUT.stamp"

used=$(dumpe2fs -h "$BUILD/root.img" 2>/dev/null | awk -F: '/^Block count/{c=$2} /^Free blocks/{f=$2} END{printf "%d", (c-f)*4096/1048576}')
log "done in $((SECONDS - START))s: $OUT  (apparent $((DISK_SIZE >> 20)) MiB, allocated $(($(stat -c %b "$OUT") * 512 >> 20)) MiB, ext4 used $used MiB)"
sgdisk -p "$OUT" | tail -n 3 >&2
