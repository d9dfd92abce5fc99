#!/usr/bin/env bash
# Builds imprint_VERSION_all.deb from a packaged cli/target (run by the Maven build's `deb`
# profile, after the jar and the man page and completion from PackageDocs exist):
#   build-deb.sh REPO_ROOT CLI_TARGET MAVEN_VERSION
set -euo pipefail
root="$1"
target="$2"
version="${3//-/\~}" # 0.1.0-SNAPSHOT -> 0.1.0~SNAPSHOT: sorts before the release
here="$(cd "$(dirname "$0")" && pwd)"
stage="$target/deb/imprint"
docs="$target/deb-docs"
rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/imprint" \
  "$stage/usr/share/doc/imprint/examples" "$stage/usr/share/man/man1" \
  "$stage/usr/share/bash-completion/completions" "$stage/lib/systemd/system" \
  "$stage/lib/udev/rules.d" "$stage/etc/default"

install -m 0644 "$target/imprint.jar" "$stage/usr/share/imprint/imprint.jar"
# The same launcher as ./imprint: next to imprint.jar without a pom.xml it runs installed.
install -m 0755 "$root/imprint" "$stage/usr/share/imprint/imprint"
ln -s ../share/imprint/imprint "$stage/usr/bin/imprint"
install -m 0644 "$root/conf/sample.imprint" "$stage/usr/share/imprint/sample.imprint"
install -m 0644 "$root/conf/imprint-station.service" "$root/conf/imprint-server@.service" \
  "$stage/lib/systemd/system/"
install -m 0644 "$root/conf/70-imprint-station.rules" "$stage/lib/udev/rules.d/"
install -m 0644 "$root/conf/imprint-station.default" "$stage/etc/default/imprint-station"
install -m 0644 "$docs/imprint.bash-completion" \
  "$stage/usr/share/bash-completion/completions/imprint"
gzip -9n < "$docs/imprint.1" > "$stage/usr/share/man/man1/imprint.1.gz"
gzip -9n < "$root/README.md" > "$stage/usr/share/doc/imprint/README.md.gz"
install -m 0644 "$root/conf/sample-jobs.conf" "$stage/usr/share/doc/imprint/examples/"

size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$here/control" > "$stage/DEBIAN/control"
install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$stage/DEBIAN/"

rm -f "$target"/imprint_*_all.deb
# The jar is compressed already: gzip -1 keeps the build fast.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$target/imprint_${version}_all.deb" \
  >/dev/null
echo "built $target/imprint_${version}_all.deb"
