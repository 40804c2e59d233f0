# rootfs.sh: a Debian bookworm root file system made by debootstrap, cached.
# Sourced by tests/e2e/test_package.sh (a scratch system to install the .deb
# into) and scripts/make-base-image.sh (the base of the container image).
#
# debootstrap takes 3-8 minutes here, so its result is kept as a tarball in
# $DSB_ROOTFS_CACHE (default /var/cache/dsbackup-test) and unpacked from there
# (seconds).  Remove the tarballs to start again from the mirror.

DSB_ROOTFS_CACHE=${DSB_ROOTFS_CACHE:-/var/cache/dsbackup-test}
DSB_DEBIAN_MIRROR=${DSB_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# dsb_rootfs_unpack TARBALL DIR: unpack a cached root into DIR (created).
dsb_rootfs_unpack() {
	mkdir -p "$2"
	zstd -q -dc "$1" | tar --numeric-owner -xpf - -C "$2"
}

# dsb_rootfs_pack DIR TARBALL: DIR into TARBALL, atomically.
dsb_rootfs_pack() {
	tar --numeric-owner -C "$1" -cf - . | zstd -q -T0 -3 -o "$2.tmp" && mv -f "$2.tmp" "$2"
}

# dsb_rootfs_cached NAME MAKER: the path of $DSB_ROOTFS_CACHE/NAME.tar.zst,
# made first, when missing, by "MAKER DIR" (which fills the empty DIR), under
# a lock so that concurrent callers make it once.
dsb_rootfs_cached() {
	local name=$1 maker=$2 tarball="$DSB_ROOTFS_CACHE/$1.tar.zst" tmp
	mkdir -p "$DSB_ROOTFS_CACHE"
	(
		flock 9
		if [ ! -s "$tarball" ]; then
			echo "dsbackup: making the cached root $tarball (once; minutes)" >&2
			tmp=$(mktemp -d "$DSB_ROOTFS_CACHE/.$name.XXXXXX")
			if ! "$maker" "$tmp" >&2 || ! dsb_rootfs_pack "$tmp" "$tarball"; then
				rm -rf "$tmp" "$tarball.tmp"
				exit 1
			fi
			rm -rf "$tmp"
		fi
	) 9>"$DSB_ROOTFS_CACHE/.$name.lock" || return 1
	echo "$tarball"
}

# dsb_make_minbase DIR: debootstrap --variant=minbase bookworm into DIR.
dsb_make_minbase() {
	debootstrap --variant=minbase bookworm "$1" "$DSB_DEBIAN_MIRROR" >"$1.log" 2>&1 ||
	    { tail -n 20 "$1.log" >&2; rm -f "$1.log"; return 1; }
	rm -f "$1.log"
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
}

# dsb_bookworm_minbase: the path of the cached minbase root tarball.
dsb_bookworm_minbase() {
	dsb_rootfs_cached bookworm-minbase dsb_make_minbase
}

# dsb_chroot_apt DIR ARGS...: apt-get ARGS in the root DIR (with the host's
# resolv.conf, and /proc mounted for the time of the call).
dsb_chroot_apt() {
	local dir=$1 rc=0
	shift
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	mount -t proc proc "$dir/proc"
	DEBIAN_FRONTEND=noninteractive chroot "$dir" apt-get -q -o Dpkg::Use-Pty=0 "$@" || rc=$?
	umount "$dir/proc"
	return $rc
}

# dsb_make_build_root DIR: the minbase root with the packages that build
# dsbackup (DSB_BUILD_PACKAGES of deps.sh) and ca-certificates.
dsb_make_build_root() {
	local minbase
	minbase=$(dsb_bookworm_minbase) || return 1
	dsb_rootfs_unpack "$minbase" "$1" &&
	    dsb_chroot_apt "$1" update >"$1.log" 2>&1 &&
	    dsb_chroot_apt "$1" install -y --no-install-recommends \
		"${DSB_BUILD_PACKAGES[@]}" ca-certificates >>"$1.log" 2>&1 ||
	    { tail -n 20 "$1.log" >&2; rm -f "$1.log"; return 1; }
	rm -f "$1.log" "$1/etc/resolv.conf"
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
}

# dsb_bookworm_build: the path of the cached build root tarball (needs deps.sh).
dsb_bookworm_build() {
	dsb_rootfs_cached bookworm-build dsb_make_build_root
}
