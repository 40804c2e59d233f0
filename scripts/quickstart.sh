#!/usr/bin/env bash
# quickstart.sh: on a fresh Debian 12 machine (as root): install what is
# missing, build dsbackup, and run the main job with the embedded defaults:
#   - state directory  /var/lib/dsbackup (DSBACKUP_STATE_DIR overrides)
#   - repository       $STATE/repository (a local directory)
#   - catalog          $STATE/catalogs/<repository id>.db
#   - password         $STATE/password (created 0600 on first run)
# It backs up the host's Docker volumes when there are any, otherwise a demo
# tree it creates, restores the snapshot into a scratch directory, verifies
# it, and checks the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

say() { printf '\n== %s\n' "$*"; }

say "installing build dependencies (apt, only what is missing)"
dsb_install_packages "${DSB_BUILD_PACKAGES[@]}"

say "building dsbackup (build-release/dsbackup)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSB_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
dsb=$PWD/build-release/dsbackup
"$dsb" version

state=${DSBACKUP_STATE_DIR:-/var/lib/dsbackup}
export DSBACKUP_STATE_DIR=$state
export DSBACKUP_REPOSITORY=${DSBACKUP_REPOSITORY:-$state/repository}
export DSBACKUP_PASSWORD_FILE=${DSBACKUP_PASSWORD_FILE:-$state/password}
mkdir -p "$state"
chmod 700 "$state"

if [ ! -s "$DSBACKUP_PASSWORD_FILE" ]; then
	say "creating a random repository password in $DSBACKUP_PASSWORD_FILE"
	(umask 077; head -c 32 /dev/urandom | base64 > "$DSBACKUP_PASSWORD_FILE")
	echo "keep a copy of this password somewhere else: without it the backups cannot be read"
fi

if [ ! -e "$DSBACKUP_REPOSITORY/config" ]; then
	say "creating the repository $DSBACKUP_REPOSITORY"
	"$dsb" init
fi

docker_volumes=/var/lib/docker/volumes
if [ -d "$docker_volumes" ] && [ -n "$(find "$docker_volumes" -mindepth 2 -maxdepth 2 -name _data 2>/dev/null | head -n 1)" ]; then
	source_dir=$docker_volumes
	say "backing up the Docker volumes in $source_dir"
else
	source_dir=$state/demo
	say "no Docker volumes on this host: backing up a demo tree in $source_dir"
	mkdir -p "$source_dir/app/config" "$source_dir/db"
	printf 'listen = 8080\nworkers = 4\n' > "$source_dir/app/config/app.ini"
	date -u +"demo data written %FT%TZ" > "$source_dir/app/README"
	[ -e "$source_dir/db/pages.bin" ] || head -c 4194304 /dev/urandom > "$source_dir/db/pages.bin"
	ln -sf config/app.ini "$source_dir/app/current.ini"
fi

"$dsb" backup --tag quickstart "$source_dir"

say "snapshots in the repository"
"$dsb" snapshots

scratch=$(mktemp -d /tmp/dsbackup-quickstart.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
say "restoring the latest snapshot into $scratch"
"$dsb" restore latest --target "$scratch"

say "verifying the restored files against $source_dir"
if diff -r --no-dereference "$source_dir" "$scratch$source_dir" >/dev/null; then
	echo "restored tree is identical to the source"
else
	echo "the restored tree differs from the source (files may have changed since the backup):" >&2
	diff -r --no-dereference -q "$source_dir" "$scratch$source_dir" | head -n 20 >&2 || true
fi

say "checking the repository (reading a 10% sample of the data)"
"$dsb" check --read-data-subset 10%

say "done"
cat <<TXT
repository: $DSBACKUP_REPOSITORY
catalog:    $state/catalogs/
password:   $DSBACKUP_PASSWORD_FILE
Next: DSBACKUP_REPOSITORY=$DSBACKUP_REPOSITORY DSBACKUP_PASSWORD_FILE=$DSBACKUP_PASSWORD_FILE $dsb snapshots
TXT
