#!/usr/bin/env bash
# Installs the package into a throwaway root, changes its settings as an
# administrator would and leaves data behind, upgrades to a newer build and
# checks that the settings, the data and the new binary are there; then
# removes and purges it. Needs dpkg and root (CI runs it).
# usage: packaging/deb/upgrade-test.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
old=$(bash "$top/packaging/deb/build.sh" 0.1.0 "$arch")
new=$(bash "$top/packaging/deb/build.sh" 0.2.0 "$arch")
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
fail() { echo "upgrade test: $*" >&2; exit 1; }
# The throwaway root has none of the package's dependencies: dpkg is told so.
inst() {
  dpkg --root="$root" --force-depends --force-script-chrootless --force-confold --log=/dev/null "$@" >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log" >&2; fail "dpkg $*"; }
}

inst -i "$old"
conf="$root/etc/gatehouse/gatehouse.toml"
[ -f "$conf" ] || fail "the settings file was not installed"
echo 'site_name = "North Tower (edited by the administrator)"' >> "$conf"
mkdir -p "$root/var/lib/gatehouse"
echo "the building's records" > "$root/var/lib/gatehouse/MANIFEST"

inst -i "$new"
grep -q 'North Tower (edited by the administrator)' "$conf" || fail "the upgrade lost the administrator's settings"
grep -q "the building's records" "$root/var/lib/gatehouse/MANIFEST" || fail "the upgrade touched the data"
"$root/usr/bin/gatehouse" version | grep -q '0.2.0' || fail "the new binary was not installed"
[ -f "$root/lib/udev/rules.d/60-gatehouse-serial.rules" ] || fail "no udev rules"

inst -r gatehouse
[ ! -e "$root/usr/bin/gatehouse" ] || fail "remove left the binary"
[ -f "$conf" ] || fail "remove deleted the settings (only purge may)"
inst -P gatehouse
[ ! -e "$conf" ] || fail "purge left the settings"
[ -f "$root/var/lib/gatehouse/MANIFEST" ] || fail "purge deleted the data without being asked"
echo "upgrade test: 0.1.0 -> 0.2.0 keeps settings and data; remove keeps settings; purge removes them and keeps the data"
