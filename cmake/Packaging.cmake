# Packaging.cmake: where "cmake --install" puts each file (the Debian layout,
# through GNUInstallDirs), and the .deb that "cpack -G DEB" makes of it.
#
# Build the package from a tree configured with -DCMAKE_INSTALL_PREFIX=/usr.
# The configuration file goes to DSB_CONFIG_DIR (/etc/dsbackup), the
# directory the binary reads by default (DSB_CONFIG_DEFAULT_PATH, set from
# the same variable in CMakeLists.txt).
#
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-pkg -j2 && (cd build-pkg && cpack -G DEB)

set(DSB_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging/debian)

# dsb_pkg_dir(VAR PKGCONFIG_MODULE VARIABLE FALLBACK): VAR is the pkg-config
# variable when the module is installed, else FALLBACK (relative to the prefix).
function(dsb_pkg_dir var module variable fallback)
  pkg_get_variable(dir ${module} ${variable})
  if(NOT dir)
    set(dir ${fallback})
  endif()
  set(${var} ${dir} PARENT_SCOPE)
endfunction()
dsb_pkg_dir(DSB_SYSTEMD_UNIT_DIR systemd systemdsystemunitdir lib/systemd/system)
dsb_pkg_dir(DSB_TMPFILES_DIR systemd tmpfilesdir lib/tmpfiles.d)
dsb_pkg_dir(DSB_COMPLETIONS_DIR bash-completion completionsdir share/bash-completion/completions)

# Directories the package makes get 0755 whatever the umask of the build.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

install(FILES systemd/dsbackup-path@.service systemd/dsbackup-path@.timer
        systemd/dsbackup@.service systemd/dsbackup@.timer systemd/dsbackup.service
        DESTINATION ${DSB_SYSTEMD_UNIT_DIR})
# /var/lib/dsbackup (0700) and /var/cache/dsbackup, made at boot and by the postinst
install(FILES ${DSB_PACKAGING_DIR}/tmpfiles.conf DESTINATION ${DSB_TMPFILES_DIR} RENAME dsbackup.conf)
install(FILES README.md docs/FORMAT.md docs/CONFIG.md docs/DOCKER.md docs/S3.md
        docs/dsbackup.conf.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The configuration file where the binary looks (DSB_CONFIG_DIR, /etc/dsbackup), from the
# example; an install over an existing one keeps it (in the package, dpkg handles the conffile).
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}${DSB_CONFIG_DIR}/dsbackup.conf\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}${DSB_CONFIG_DIR}/dsbackup.conf\")
  else()
    file(INSTALL DESTINATION \"${DSB_CONFIG_DIR}\" TYPE FILE RENAME dsbackup.conf
         FILES \"${PROJECT_SOURCE_DIR}/docs/dsbackup.conf.example\")
  endif()")

# dsb_gzip(SRC OUT): OUT (in the build tree) is SRC compressed as Debian wants
# its man pages and changelogs (gzip -9, no name or time stamp), made by "all".
function(dsb_gzip src out)
  get_filename_component(name ${out} NAME)
  add_custom_command(OUTPUT ${out} COMMAND gzip -n -9 -c ${src} > ${out} DEPENDS ${src} VERBATIM)
  add_custom_target(dsb_gzip_${name} ALL DEPENDS ${out})
endfunction()
foreach(page dsbackup.1 dsbackup.conf.5)
  string(REGEX MATCH "[0-9]$" section ${page})
  dsb_gzip(${PROJECT_SOURCE_DIR}/docs/man/${page} ${CMAKE_CURRENT_BINARY_DIR}/packaging/${page}.gz)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
install(FILES completions/dsbackup DESTINATION ${DSB_COMPLETIONS_DIR})

# ---- the .deb (cpack -G DEB) ----
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "dsbackup: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}; a .deb wants /usr")
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dsbackup)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# staged through DESTDIR: the absolute destinations (/etc, the systemd unit dir) land in the package
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "dsbackup dev <dev@dsbackup.invalid>" CACHE STRING "package Maintainer")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CPACK_PACKAGE_CONTACT})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# the project has no public address yet: -DDSB_PACKAGE_HOMEPAGE=URL adds the field
set(DSB_PACKAGE_HOMEPAGE "" CACHE STRING "package Homepage (none when empty)")
if(DSB_PACKAGE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${DSB_PACKAGE_HOMEPAGE})
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "encrypted, deduplicating backups of Docker hosts")
# the extended description: CPack indents each line, an empty line becomes " ."
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "dsbackup makes encrypted, compressed (zstd), deduplicated snapshots of named
Docker volumes, compose projects, the daemon configuration, Content Trust
keys and plain directories, in a repository on a local directory or on
S3-compatible storage, catalogued in SQLite, and restores them with every
byte verified. Key material can be escrowed to officers' keys, K of N.

The package installs systemd units for scheduled jobs and enables none.")
# Maintainer scripts and the conffile; dpkg keeps /etc/dsbackup/dsbackup.conf
# across upgrades and removes it on purge.
set(DSB_PKG_CONFFILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles)
file(WRITE ${DSB_PKG_CONFFILES} "${DSB_CONFIG_DIR}/dsbackup.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${DSB_PKG_CONFFILES}
    ${DSB_PACKAGING_DIR}/postinst ${DSB_PACKAGING_DIR}/prerm ${DSB_PACKAGING_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Debian policy files: changelog (compressed, its entry of the project
# version: a native package) and copyright.  lintian finds no warning, so
# the package ships no lintian overrides (tests/e2e/test_package.sh).
configure_file(${DSB_PACKAGING_DIR}/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog @ONLY)
set(DSB_PKG_CHANGELOG ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz)
dsb_gzip(${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog ${DSB_PKG_CHANGELOG})
install(FILES ${DSB_PKG_CHANGELOG} ${DSB_PACKAGING_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
include(CPack)
