#!/usr/bin/env bash
# Builds gatehouse_VERSION_ARCH.deb for amd64, arm64 or armhf with dpkg-deb,
# in the current directory.
# usage: packaging/deb/build.sh VERSION [amd64|arm64|armhf]
set -euo pipefail
version=${1:?version}
arch=${2:-amd64}
case "$arch" in
  amd64) goarch=amd64 goarm= ;;
  arm64) goarch=arm64 goarm= ;;
  armhf) goarch=arm goarm=7 ;;
  *) echo "unknown arch $arch" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/packaging/deb"
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
umask 022
doc="$root/usr/share/doc/gatehouse"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/gatehouse" "$root/lib/systemd/system" "$root/lib/udev/rules.d" \
  "$doc" "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"
(cd "$top" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
  go build -trimpath -buildvcs=false -ldflags "-s -w -X gatehouse/appliance.Version=$version" -o "$root/usr/bin/gatehouse" .)
install -m 0640 "$top/packaging/gatehouse.toml" "$root/etc/gatehouse/gatehouse.toml"
install -m 0644 "$top/packaging/systemd/gatehouse.service" "$root/lib/systemd/system/gatehouse.service"
install -m 0644 "$top/packaging/udev/60-gatehouse-serial.rules" "$root/lib/udev/rules.d/60-gatehouse-serial.rules"
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n -c "$top/README.md" > "$doc/README.md.gz"
gzip -9n -c "$here/changelog" > "$doc/changelog.gz"
sed "s/@VERSION@/$version/" "$here/gatehouse.1" | gzip -9n > "$root/usr/share/man/man1/gatehouse.1.gz"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/gatehouse"
chmod 0644 "$doc"/*.gz "$root/usr/share/man/man1/gatehouse.1.gz"

for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$root/DEBIAN/$script"
done
echo "/etc/gatehouse/gatehouse.toml" > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CTL
Package: gatehouse
Version: $version
Architecture: $arch
Maintainer: Gatehouse <ops@gatehouse.invalid>
Installed-Size: $size
Depends: adduser, fonts-droid-fallback, fonts-dejavu-core
Section: misc
Priority: optional
Description: lobby appliance for buildings
 Runs the visitor desk, the gates, the access cards, the key room and the
 card stock of a building from one service, with web pages for guards,
 receptionists, tenant employees and visitors, and drivers for the serial
 devices at the gates (QR scanners, OSDP readers, relay boards, document
 readers, receipt printers, GSM modems).
CTL
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control" "$root/DEBIAN/conffiles"
dpkg-deb --root-owner-group -Zxz --build "$root" "gatehouse_${version}_${arch}.deb" >/dev/null
echo "gatehouse_${version}_${arch}.deb"
