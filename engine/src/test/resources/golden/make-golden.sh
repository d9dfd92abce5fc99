#!/usr/bin/env bash
# Made the golden images in this directory, once (see README.md). The tests never run this: they
# restore the checked-in images and compare with the digests in SHA256SUMS. Run it again only to
# add images for a new format version, never to replace these.
#
# Usage: IMPRINT="java -jar cli/target/imprint.jar" make-golden.sh OUTDIR
set -euo pipefail
out="$(cd "$1" && pwd)"
imprint="${IMPRINT:?set IMPRINT to the imprint command}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
KiB=1024
MiB=$((1024 * 1024))

# Pseudo-random bytes from a seed: AES-CTR over zeros, the same on every machine.
# (Process substitution: the endless producer's SIGPIPE must not fail the script.)
rand() { head -c "$2" < <(openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$1" </dev/zero 2>/dev/null); }
text() { head -c "$2" < <(yes "$1"); }
# put FILE OFFSET: writes stdin into FILE at byte OFFSET, keeping the rest.
put() { dd of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none; }

# The first 4 MiB of the small and large disks: text, incompressible and compressible chunks,
# sparse bytes and a run across a 64 KiB boundary, all else zero.
head4m() {
  text "IMPRINT GOLDEN DISK" 512 | put "$1" 0
  rand head 4096 | put "$1" 4096
  rand random64k $((64 * KiB)) | put "$1" $((64 * KiB))
  text "compressible text for the golden images" $((64 * KiB)) | put "$1" $((192 * KiB))
  rand sparse 1000 | put "$1" $((MiB + 12345))
  rand boundary 200 | put "$1" $((3 * MiB + 64 * KiB - 100))
}
# The 192 KiB tail after a disk's last full chunk: random, zeros, then text ending at the end.
tail192k() {
  rand tail $((64 * KiB)) | put "$1" "$2"
  text "the very last bytes" 100 | put "$1" $(($2 + 192 * KiB - 100))
}

# S: 8 MiB + 192 KiB; chunk 1 of 4 MiB is all zero.
truncate -s $((8 * MiB + 192 * KiB)) "$work/small.raw"
head4m "$work/small.raw"
tail192k "$work/small.raw" $((8 * MiB))
# L: 64 MiB + 192 KiB, data in the first 4 MiB and the tail: a full 64 MiB data chunk.
truncate -s $((64 * MiB + 192 * KiB)) "$work/large.raw"
head4m "$work/large.raw"
tail192k "$work/large.raw" $((64 * MiB))
# T: 64 MiB + 192 KiB, data only in the tail, for codec none at 4M and 64M: stored chunks are not
# compressed, so a full data chunk would be the chunk size. (none at 64K stores full chunks.)
truncate -s $((64 * MiB + 192 * KiB)) "$work/tail.raw"
tail192k "$work/tail.raw" $((64 * MiB))

create() { $imprint create --source "$work/$1" --output "$out/$2" --chunk-size "$3" --compress "$4" >/dev/null; }
for codec in zstd lz4 none; do
  create small.raw "$codec-64k.imprint" 64K "$codec"
done
create small.raw zstd-4m.imprint 4M zstd
create small.raw lz4-4m.imprint 4M lz4
create tail.raw none-4m.imprint 4M none
create large.raw zstd-64m.imprint 64M zstd
create large.raw lz4-64m.imprint 64M lz4
create tail.raw none-64m.imprint 64M none

# Signed: the small disk at the defaults, signed with a throwaway key; only KEY.pub is kept.
create small.raw signed.imprint 4M zstd:3
$imprint keygen --output "$work/golden.key" >/dev/null
$imprint sign --source "$out/signed.imprint" --key "$work/golden.key" >/dev/null
cp "$work/golden.key.pub" "$out/signed.pub"

# Partitions: 8 MiB GPT, a 2 MiB FAT ESP and an ext4 root with files, imaged filesystem-aware in
# 64 KiB chunks, so the free space of both filesystems becomes unallocated ranges.
mkdir -p "$work/root/etc" "$work/efi"
echo "golden" >"$work/root/etc/hostname"
rand rootfile $((300 * KiB)) >"$work/root/random.bin"
rand loader $((100 * KiB)) >"$work/efi/BOOTX64.EFI"
truncate -s $((8 * MiB)) "$work/gpt.raw"
sgdisk -o -U 8E0B4A36-6F5C-4F1E-9A1B-000000000001 \
  -n 1:2048:+2M -t 1:ef00 -c 1:EFI -u 1:8E0B4A36-6F5C-4F1E-9A1B-000000000002 \
  -n 2:0:0 -t 2:8300 -c 2:root -u 2:8E0B4A36-6F5C-4F1E-9A1B-000000000003 \
  "$work/gpt.raw" >/dev/null
p2start=$(sgdisk -i 2 "$work/gpt.raw" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
p2end=$(sgdisk -i 2 "$work/gpt.raw" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
truncate -s $((2 * MiB)) "$work/efi.fat"
mkfs.vfat -i 1234ABCD -n EFI "$work/efi.fat" >/dev/null
mcopy -i "$work/efi.fat" "$work/efi/BOOTX64.EFI" ::/
truncate -s $(((p2end - p2start + 1) * 512)) "$work/root.ext4"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -L root -U 8e0b4a36-6f5c-4f1e-9a1b-000000000004 \
  -E hash_seed=8e0b4a36-6f5c-4f1e-9a1b-000000000005 -d "$work/root" "$work/root.ext4"
put "$work/gpt.raw" $((2048 * 512)) <"$work/efi.fat"
put "$work/gpt.raw" $((p2start * 512)) <"$work/root.ext4"
create gpt.raw partitions.imprint 64K zstd:3

# What each image restores to, onto a new file: SHA-256, size, image.
: >"$out/SHA256SUMS"
for img in zstd-64k zstd-4m zstd-64m lz4-64k lz4-4m lz4-64m none-64k none-4m none-64m signed partitions; do
  $imprint restore --source "$out/$img.imprint" --target "$work/restored.raw" --erase --noprompt >/dev/null
  echo "$(sha256sum <"$work/restored.raw" | cut -c1-64)  $(stat -c %s "$work/restored.raw")  $img.imprint" >>"$out/SHA256SUMS"
  rm -f "$work/restored.raw"
done
for raw in small large tail gpt; do
  echo "# $raw.raw $(sha256sum <"$work/$raw.raw" | cut -c1-64)" >>"$out/SHA256SUMS"
done
