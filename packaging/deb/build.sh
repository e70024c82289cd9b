#!/usr/bin/env bash
# Builds gatehouse_VERSION_ARCH.deb for amd64, arm64 or armhf with dpkg-deb.
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
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/gatehouse" "$root/lib/systemd/system" "$root/usr/share/doc/gatehouse"
(cd "$top" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
  go build -trimpath -ldflags "-s -w -X gatehouse/appliance.Version=$version" -o "$root/usr/bin/gatehouse" .)
install -m 0640 "$top/packaging/gatehouse.toml" "$root/etc/gatehouse/gatehouse.toml"
install -m 0644 "$top/packaging/systemd/gatehouse.service" "$root/lib/systemd/system/gatehouse.service"
install -m 0644 "$top/README.md" "$root/usr/share/doc/gatehouse/README.md"
cat > "$root/DEBIAN/control" <<CTL
Package: gatehouse
Version: $version
Architecture: $arch
Maintainer: Gatehouse <ops@gatehouse.invalid>
Depends: fonts-droid-fallback, fonts-dejavu-core
Section: misc
Priority: optional
Description: Gatehouse lobby appliance
 Visitor desk, gates, access cards, key room and card stock of a building.
CTL
echo "/etc/gatehouse/gatehouse.toml" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
if ! getent passwd gatehouse >/dev/null; then
  adduser --system --group --home /var/lib/gatehouse --no-create-home gatehouse
fi
chgrp gatehouse /etc/gatehouse/gatehouse.toml
systemctl daemon-reload >/dev/null 2>&1 || true
systemctl enable --now gatehouse.service >/dev/null 2>&1 || true
echo "gatehouse: the first administrator's one-time password is in: journalctl -u gatehouse"
POST
chmod 0755 "$root/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$root" "gatehouse_${version}_${arch}.deb"
