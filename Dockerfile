# Dockerfile: dsbackup in a container.  The build stage compiles it from
# this tree; the final stage holds only the binary, the shared libraries it
# loads (glibc aside) and the CA bundle, on a plain Debian bookworm.
#
#   docker build -t dsbackup .
#   docker run --rm --group-add "$(stat -c %g /var/run/docker.sock)" \
#       -v /var/run/docker.sock:/var/run/docker.sock:ro \
#       -v /var/lib/docker/volumes:/var/lib/docker/volumes:ro \
#       -v /srv/backup/repo:/repo -v dsbackup-state:/var/lib/dsbackup \
#       -e DSBACKUP_REPOSITORY=/repo -e DSBACKUP_PASSWORD_FILE=/run/secrets/dsbackup-password \
#       -v /etc/dsbackup/password:/run/secrets/dsbackup-password:ro \
#       dsbackup backup --source 'volume:*'
#
# It runs as the user dsbackup (uid and gid 10001), not root: --group-add
# with the group of the Docker socket lets it talk to the engine; the
# repository directory must be writable by uid 10001.  Volumes whose files
# that user cannot read (a database's 0600 files), and restores that give
# files back their owners, need "--user 0".  Settings come from DSBACKUP_*
# variables (DSBACKUP_REPOSITORY, DSBACKUP_PASSWORD_FILE, DSBACKUP_S3_*, ...)
# or a configuration file mounted at /etc/dsbackup/dsbackup.conf, whose
# jobs the default command ("run", the scheduler) runs on their schedules.
# README.md ("Installing") and docs/DOCKER.md say more.
#
# Without a registry: scripts/make-base-image.sh imports local base images,
# then --build-arg BASE=dsbackup-base:bookworm
#       --build-arg BUILD_BASE=dsbackup-build-base:bookworm
ARG BASE=debian:bookworm-slim
ARG BUILD_BASE=${BASE}

FROM ${BUILD_BASE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# the build packages of scripts/lib/deps.sh (apt only for those missing)
COPY scripts/lib/deps.sh /src/scripts/lib/deps.sh
RUN . /src/scripts/lib/deps.sh && dsb_install_packages "${DSB_BUILD_PACKAGES[@]}" ca-certificates binutils
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
        -DDSB_TESTS=OFF >/dev/null && \
    cmake --build /build -j"$(nproc)" --target dsbackup
# /out: the stripped binary, the libraries ldd resolves (without glibc's,
# which the final base has) under their sonames in their real directories
# (/lib is a link to /usr/lib in bookworm), and the CA bundle
RUN install -D -s -m 0755 /build/dsbackup /out/usr/bin/dsbackup && \
    ldd /build/dsbackup | awk '$3 ~ /^\// { print $3 }' | \
        grep -vE '/(libc|libm|libpthread|libdl|librt|libresolv)\.so' | \
        while read -r lib; do \
            install -D -m 0644 "$(readlink -f "$lib")" "/out$(readlink -f "${lib%/*}")/${lib##*/}"; \
        done && \
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt

FROM ${BASE}
COPY --from=build /out/ /
RUN groupadd --gid 10001 dsbackup && \
    useradd --uid 10001 --gid 10001 --home-dir /var/lib/dsbackup --no-create-home \
        --shell /usr/sbin/nologin dsbackup && \
    install -d -m 0700 -o dsbackup -g dsbackup /var/lib/dsbackup && \
    install -d -m 0755 /etc/dsbackup && \
    ldconfig && dsbackup version >/dev/null
ENV DSBACKUP_STATE_DIR=/var/lib/dsbackup \
    DSBACKUP_CONFIG=/etc/dsbackup/dsbackup.conf
VOLUME ["/var/lib/dsbackup"]
USER dsbackup
WORKDIR /var/lib/dsbackup
ENTRYPOINT ["/usr/bin/dsbackup"]
CMD ["run"]
