#!/usr/bin/env bash
# test_package.sh: the .deb.  A release build in a scratch directory,
# "cpack -G DEB", lintian with no error or warning, the package's contents
# and control fields; "cmake --install" keeps an existing configuration
# file; then the package in a fresh Debian bookworm root (debootstrap,
# cached by scripts/lib/rootfs.sh): "apt-get install ./dsbackup_*.deb"
# pulls in the libraries, the binary runs an init/backup/restore round trip
# there, nothing got enabled; "apt-get purge" removes the configuration and
# the cache but leaves /var/lib/dsbackup and the repository in it intact.
. "$(dirname "$0")/lib.sh"
. "$DSB_SRC/scripts/lib/rootfs.sh"

[ "$(id -u)" -eq 0 ] || skip_test "needs root (chroot, mount)"
for tool in cpack dpkg-deb dpkg-shlibdeps lintian debootstrap zstd chroot; do
	have "$tool" || fail "$tool is missing (scripts/lib/deps.sh: DSB_TEST_PACKAGES)"
done
ROOT="$T/root"
cleanup_root() {
	if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc" || true; fi
}
trap 'rc=$?; set +e; [ "$BASHPID" = "$E2E_MAIN_PID" ] && cleanup_root; (exit $rc); e2e_cleanup' EXIT

step "release build and cpack -G DEB"
B="$T/build"
expect_rc 0 cmake -S "$DSB_SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DDSB_TESTS=OFF
expect_rc 0 cmake --build "$B" -j2
(cd "$B" && expect_rc 0 cpack -G DEB)
version=$(sed -n 's/^project(dsbackup VERSION \([0-9.]*\).*/\1/p' "$DSB_SRC/CMakeLists.txt")
DEB="$B/dsbackup_${version}_$(dpkg --print-architecture).deb"
[ -f "$DEB" ] || fail "cpack made no $DEB: $(ls "$B"/*.deb 2>&1)"

step "lintian: no error, no warning"
lintian --fail-on error,warning --no-tag-display-limit "$DEB" >"$T/lintian" 2>&1 ||
    { cat "$T/lintian" >&2; fail "lintian complains about $DEB"; }

step "contents and control fields"
dpkg-deb -c "$DEB" | awk '{ print $1 " " $6 }' | sed 's|^\(.\)[^ ]* \./|\1 /|' >"$T/contents"
for want in "- /usr/bin/dsbackup" "- /etc/dsbackup/dsbackup.conf" \
    "- /lib/systemd/system/dsbackup.service" "- /lib/systemd/system/dsbackup@.service" \
    "- /lib/systemd/system/dsbackup@.timer" "- /lib/systemd/system/dsbackup-path@.service" \
    "- /lib/systemd/system/dsbackup-path@.timer" "- /usr/lib/tmpfiles.d/dsbackup.conf" \
    "- /usr/share/man/man1/dsbackup.1.gz" "- /usr/share/man/man5/dsbackup.conf.5.gz" \
    "- /usr/share/bash-completion/completions/dsbackup" "- /usr/share/doc/dsbackup/copyright" \
    "- /usr/share/doc/dsbackup/changelog.gz" "- /usr/share/doc/dsbackup/dsbackup.conf.example"; do
	grep -qxF -- "$want" "$T/contents" || { cat "$T/contents" >&2; fail "the package lacks $want"; }
done
! grep -v -e '^[d-] /\(usr\|etc\|lib\)/' -e '^d /$' "$T/contents" | grep . || fail "files outside /usr, /etc, /lib"
dpkg-deb -f "$DEB" Version | grep -qx "$version" || fail "the package version is not $version"
dpkg-deb -f "$DEB" Depends >"$T/depends"
for lib in libarchive13 libzstd1 libssl3 libcurl4 libsqlite3-0 libjansson4 libinih1; do
	grep -q "\\b$lib\\b" "$T/depends" || fail "Depends lacks $lib: $(cat "$T/depends")"
done
dpkg-deb -I "$DEB" conffiles | grep -qx /etc/dsbackup/dsbackup.conf || fail "the configuration is no conffile"

step "cmake --install keeps an existing configuration file"
echo "# edited by the administrator" >"$T/edited.conf"
install -D -m 0644 "$T/edited.conf" "$T/stage/etc/dsbackup/dsbackup.conf"
DESTDIR="$T/stage" expect_rc 0 cmake --install "$B"
cmp -s "$T/edited.conf" "$T/stage/etc/dsbackup/dsbackup.conf" || fail "cmake --install replaced the configuration"
[ -x "$T/stage/usr/bin/dsbackup" ] || fail "cmake --install put no /usr/bin/dsbackup"

step "install into a fresh bookworm root"
tarball=$(dsb_bookworm_minbase) || fail "no bookworm root (debootstrap from $DSB_DEBIAN_MIRROR)"
dsb_rootfs_unpack "$tarball" "$ROOT"
cp "$DEB" "$ROOT/tmp/"
dsb_chroot_apt "$ROOT" update >"$T/apt.log" 2>&1 || { tail -n 20 "$T/apt.log" >&2; fail "apt-get update"; }
dsb_chroot_apt "$ROOT" install -y --no-install-recommends "./tmp/$(basename "$DEB")" >"$T/apt.log" 2>&1 ||
    { tail -n 30 "$T/apt.log" >&2; fail "apt-get install of the package failed"; }
in_root() {
	chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DSBACKUP_PASSWORD="$DSBACKUP_PASSWORD" "$@"
}
expect_rc 0 in_root dsbackup version
expect_out "$version"
[ "$(stat -c %a "$ROOT/var/lib/dsbackup")" = 700 ] || fail "/var/lib/dsbackup is not 0700"
[ -d "$ROOT/var/cache/dsbackup" ] || fail "no /var/cache/dsbackup"
# the binary reads the configuration file the package installed (whose example
# password file and directories do not exist here)
expect_rc 2 in_root dsbackup config check
expect_err "^dsbackup: error: /etc/dsbackup/dsbackup.conf:[0-9]+: \\[repository local\\] password-file"

step "nothing enabled or started by the package"
find "$ROOT/etc/systemd" "$ROOT/var/lib/systemd" -name '*dsbackup*' ! -path '*/deb-systemd-helper-masked/*' \
    -printf '%P -> %l\n' >"$T/enabled" 2>/dev/null || true
grep -v '^deb-systemd-helper-enabled/dsbackup.service.dsh-also' "$T/enabled" | grep . &&
    fail "the package enabled units: $(cat "$T/enabled")"

step "init, backup and restore inside the root"
mkdir -p "$ROOT/srv/data/sub"
random_file "$ROOT/srv/data/sub/blob" 300000
echo "hello from the package test" >"$ROOT/srv/data/hello"
expect_rc 0 in_root dsbackup -r /var/lib/dsbackup/repo init --kdf-log2n 10
expect_rc 0 in_root dsbackup -r /var/lib/dsbackup/repo backup /srv/data
expect_rc 0 in_root dsbackup -r /var/lib/dsbackup/repo restore latest --target /tmp/restore
compare_trees "$ROOT/srv/data" "$ROOT/tmp/restore/srv/data"
ls "$ROOT"/var/lib/dsbackup/catalogs/*.db >/dev/null 2>&1 || fail "no catalog in /var/lib/dsbackup/catalogs"
echo "a repository password" >"$ROOT/etc/dsbackup/password"

step "apt-get purge: configuration and cache gone, state and repository kept"
dsb_chroot_apt "$ROOT" purge -y dsbackup >"$T/apt.log" 2>&1 || { tail -n 20 "$T/apt.log" >&2; fail "apt-get purge"; }
[ ! -e "$ROOT/usr/bin/dsbackup" ] || fail "the binary is still there"
[ ! -e "$ROOT/etc/dsbackup/dsbackup.conf" ] || fail "the purge left /etc/dsbackup/dsbackup.conf"
[ ! -e "$ROOT/var/cache/dsbackup" ] || fail "the purge left /var/cache/dsbackup"
[ -f "$ROOT/etc/dsbackup/password" ] || fail "the purge removed a password file"
grep -q "kept /etc/dsbackup, which still holds: password" "$T/apt.log" || fail "the purge did not name the kept file"
ls "$ROOT"/var/lib/dsbackup/catalogs/*.db >/dev/null 2>&1 || fail "the purge removed the catalogs"
expect_rc 0 dsb -r "$ROOT/var/lib/dsbackup/repo" check --read-data
