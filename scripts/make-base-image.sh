#!/usr/bin/env bash
# make-base-image.sh: the base images of the Dockerfile, made locally (no
# registry needed), in the engine at DOCKER_HOST (default: the host's):
#   dsbackup-base:bookworm        a debootstrap'd Debian bookworm minbase
#   dsbackup-build-base:bookworm  the same with the build packages of
#                                 scripts/lib/deps.sh and ca-certificates
# Each is imported ("docker import") from a root file system tarball that
# scripts/lib/rootfs.sh caches in /var/cache/dsbackup-test
# (DSB_ROOTFS_CACHE); an image that exists already is kept.  Then:
#   docker build --build-arg BASE=dsbackup-base:bookworm \
#       --build-arg BUILD_BASE=dsbackup-build-base:bookworm -t dsbackup .
# Usage: [DOCKER_HOST=unix:///path/docker.sock] scripts/make-base-image.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/deps.sh"
. "$here/lib/rootfs.sh"

force=0
case "${1:-}" in
--force) force=1 ;;
"") ;;
*) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "make-base-image.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
dsb_install_packages debootstrap zstd

# import_image NAME TARBALL: docker import of a rootfs tarball, unless NAME exists
import_image() {
	if [ $force -eq 0 ] && docker image inspect "$1" >/dev/null 2>&1; then
		echo "$1: exists"
		return 0
	fi
	zstd -q -dc "$2" | docker import --change 'CMD ["/bin/bash"]' - "$1" >/dev/null
	echo "$1: imported from $2"
}

minbase=$(dsb_bookworm_minbase)
import_image dsbackup-base:bookworm "$minbase"
build=$(dsb_bookworm_build)
import_image dsbackup-build-base:bookworm "$build"
