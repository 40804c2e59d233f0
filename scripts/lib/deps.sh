# deps.sh: the Debian packages dsbackup needs, and a function that installs
# whichever are missing.  Sourced by scripts/quickstart.sh and scripts/test.sh.

DSB_BUILD_PACKAGES=(cmake make gcc pkg-config libarchive-dev libzstd-dev libssl-dev
	libcurl4-openssl-dev libsqlite3-dev libjansson-dev libinih-dev libfuse3-dev)
DSB_TEST_PACKAGES=(check libsubunit-dev attr acl python3 clang libclang-rt-14-dev restic
	libarchive-tools util-linux systemd fuse3 groff man-db zstd zip unzip)
# the .deb and the container image (tests/e2e/test_package.sh, test_container.sh)
DSB_TEST_PACKAGES+=(dpkg-dev lintian debootstrap)
# services the test suites start themselves (scripts/services/): installed up
# front by scripts/test.sh so that no two fixtures run apt at the same time
DSB_SERVICE_PACKAGES=(docker.io busybox-static docker-compose radosgw ceph-mon ceph-osd
	uuid-runtime awscli podman runc)

# dsb_install_packages PKG...: apt-get install the packages that are not installed yet.
dsb_install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "dsbackup: missing packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "dsbackup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# wait for another apt/dpkg (a parallel test fixture) rather than fail
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
