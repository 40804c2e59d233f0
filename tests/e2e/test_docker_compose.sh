#!/usr/bin/env bash
# test_docker_compose.sh: a project started with docker-compose (Debian's
# 1.29, against the private engine) is found by compose:* from its
# containers' labels; its snapshot holds the compose file, the override
# file, .env and the env file named by env_file, and records its containers
# and volumes; it restores to its working directory or to --target.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker_lib.sh"
have docker-compose || fail "docker-compose is not installed (the dockerd fixture installs it)"

P="${DP//-/}proj"     # compose project names: lower case letters and digits
W="$T/project"
mkdir -p "$W"
cat >"$W/docker-compose.yml" <<'YML'
version: "3"
services:
  app:
    image: localhost/bb
    command: sleep 1000
    network_mode: none
    env_file:
      - app.env
    volumes:
      - appdata:/data
volumes:
  appdata:
YML
printf 'version: "3"\nservices:\n  app:\n    environment:\n      - FROM_OVERRIDE=1\n' >"$W/docker-compose.override.yml"
echo "APP_SETTING=1" >"$W/app.env"
echo "COMPOSE_VAR=2" >"$W/.env"
echo "not part of the project" >"$W/notes.txt"
compose_down() {
	(cd "$W" && docker-compose -p "$P" down -v >/dev/null 2>&1) || true
}
trap 'rc=$?; set +e; [ "$BASHPID" = "$E2E_MAIN_PID" ] && { compose_down; docker_cleanup; }; (exit $rc); e2e_cleanup' EXIT

step "docker-compose up"
(cd "$W" && docker-compose -p "$P" up -d) >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "docker-compose up failed"; }
running_app=$(docker ps -q --filter "label=com.docker.compose.project=$P")
[ -n "$running_app" ] || fail "the project's container is not running"

init_repo
step "backup --source 'compose:*' finds the project and backs up its files"
expect_rc 0 dsb --json backup --source 'compose:*'
expect_out "\"source\":\"compose:$P\""
expect_rc 0 dsb --json snapshots --source "compose:$P"
[ "$(json_get "$OUT" 'len(j)')" = 1 ] || fail "snapshots --source compose:$P lists $(json_get "$OUT" 'len(j)')"
paths=$(json_get "$OUT" '" ".join(sorted(j[0]["paths"]))')
want="$W/.env $W/app.env $W/docker-compose.override.yml $W/docker-compose.yml"
[ "$paths" = "$want" ] || fail "the snapshot's paths are [$paths], want [$want]"
meta="$T/meta.json"
json_get "$OUT" 'j[0]["source_meta"]["compose"]' >"$meta"
[ "$(json_get "$meta" 'j["project"]')" = "$P" ] || fail "source_meta names another project"
[ "$(json_get "$meta" 'j["working_dir"]')" = "$W" ] || fail "source_meta has the wrong working dir"
[ "$(json_get "$meta" '[c["service"] for c in j["containers"]]')" = '["app"]' ] ||
    fail "source_meta lists containers $(json_get "$meta" 'j["containers"]')"
[ "$(json_get "$meta" 'j["volumes"]')" = "[\"${P}_appdata\"]" ] ||
    fail "source_meta lists volumes $(json_get "$meta" 'j["volumes"]')"

step "restore --target DIR puts the files below DIR as in the working directory"
expect_rc 0 dsb restore latest --source "compose:$P" --target "$T/restored"
for f in docker-compose.yml docker-compose.override.yml app.env .env; do
	cmp "$W/$f" "$T/restored/$f" || fail "$f differs after the restore"
done
[ ! -e "$T/restored/notes.txt" ] || fail "a file outside the project was restored"

step "restore to the working directory brings a deleted file back"
rm "$W/docker-compose.yml" "$W/.env"
expect_rc 0 dsb restore latest --source "compose:$P"
cmp "$W/docker-compose.yml" "$T/restored/docker-compose.yml" || fail "docker-compose.yml was not restored"
cmp "$W/.env" "$T/restored/.env" || fail ".env was not restored"

step "an unknown project is an error that names it"
expect_rc 1 dsb backup --source "compose:${P}none"
expect_err "no container belongs to compose project ${P}none"
