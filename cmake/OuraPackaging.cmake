# Install rules for what is not a target (units, sample manifest, man page, Debian files) and the
# Debian packages (CPack DEB). docs/operations.md "Installing the Debian package".
#
#   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
#         -DOURA_BUILD_TESTS=OFF && cmake --build build-release --target package
#   (or .ci/package, which does this and copies the .debs to dist/)
#
# Two packages (components):
#   oura-collector      (runtime) the program, the SDK library and plugins in the private folder
#                       <libdir>/oura-collector, migrations, units, /etc sample, man page
#   oura-collector-dev  (dev)     SDK headers, liboura-sdk.so, CMake package OuraCollectorSDK

set(OURA_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/etc/debian)
set(OURA_SYSTEMD_DIR ${PROJECT_SOURCE_DIR}/etc/systemd)
set(OURA_PACKAGE_MAINTAINER "Seed 68e02dad maintainers <maintainers@users.noreply.r-seed-68e02dad.example>"
  CACHE STRING "Maintainer field of the Debian packages (Name <address>)")

# systemd units: /lib/systemd/system for a /usr prefix (Debian bookworm's place for packaged
# units; lintian flags them elsewhere), <prefix>/lib/systemd/system otherwise.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(oura_unit_dir_default /lib/systemd/system)
else()
  set(oura_unit_dir_default ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(OURA_SYSTEMD_UNIT_DIR ${oura_unit_dir_default} CACHE PATH "Where the systemd units are installed")

# The units name the installed program; everything else in them is fixed.
foreach(unit oura-collector.service oura-collector.timer oura-collector@.service oura-collector@.timer)
  configure_file(${OURA_SYSTEMD_DIR}/${unit} ${CMAKE_BINARY_DIR}/systemd/${unit} @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit} DESTINATION ${OURA_SYSTEMD_UNIT_DIR} COMPONENT runtime)
endforeach()

# The manifest the units read: a conffile (dpkg keeps the administrator's edits on upgrade).
install(FILES etc/oura-collector.toml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/oura-collector
  COMPONENT runtime)

# The man page, generated from the program's own --help and --version at build time (help2man),
# with the install layout (files, environment) from etc/debian/oura-collector.h2m.in.
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
if(HELP2MAN AND GZIP)
  set(oura_man_default ON)
else()
  set(oura_man_default OFF)
endif()
option(OURA_MAN_PAGE "Generate the man page oura-collector.1 with help2man" ${oura_man_default})
if(OURA_MAN_PAGE)
  if(NOT HELP2MAN OR NOT GZIP)
    message(FATAL_ERROR "OURA_MAN_PAGE needs help2man and gzip (apt-get install help2man)")
  endif()
  configure_file(${OURA_DEBIAN_DIR}/oura-collector.h2m.in ${CMAKE_BINARY_DIR}/man/oura-collector.h2m @ONLY)
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/man/oura-collector.1.gz
    COMMAND ${HELP2MAN} --no-info --section=1 --source=oura-collector
      "--name=collect Oura Ring data into PostgreSQL"
      --include=${CMAKE_BINARY_DIR}/man/oura-collector.h2m
      --output=${CMAKE_BINARY_DIR}/man/oura-collector.1 $<TARGET_FILE:oura-collector>
    COMMAND ${GZIP} -9nf ${CMAKE_BINARY_DIR}/man/oura-collector.1
    DEPENDS oura-collector ${CMAKE_BINARY_DIR}/man/oura-collector.h2m
    COMMENT "Generating the man page oura-collector.1 from --help (help2man)"
    VERBATIM)
  add_custom_target(oura_man_page ALL DEPENDS ${CMAKE_BINARY_DIR}/man/oura-collector.1.gz)
  install(FILES ${CMAKE_BINARY_DIR}/man/oura-collector.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT runtime)
endif()

# /usr/share/doc/<package>: copyright (machine-readable, Debian's format) and changelog.gz for
# both packages, as Debian policy asks; operations.md, the README and the plugins' READMEs
# for the runtime package.
string(TIMESTAMP oura_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)  # SOURCE_DATE_EPOCH if set
configure_file(${OURA_DEBIAN_DIR}/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog @ONLY)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/debian/changelog.gz
  COMMAND ${GZIP} -9nkf ${CMAKE_BINARY_DIR}/debian/changelog
  DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog
  VERBATIM)
add_custom_target(oura_debian_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog.gz)
foreach(component runtime dev)
  if(component STREQUAL "runtime")
    set(package oura-collector)
  else()
    set(package oura-collector-${component})
  endif()
  install(FILES ${OURA_DEBIAN_DIR}/copyright ${CMAKE_BINARY_DIR}/debian/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()
install(FILES docs/operations.md docs/manifest.md docs/retries.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(FILES docs/plugin-authors.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/oura-collector-dev
  COMPONENT dev)

# The CMake package of the SDK (oura-collector-dev): find_package(OuraCollectorSDK) gives the
# target OuraCollector::oura_sdk and OURA_COLLECTOR_PLUGIN_DIR, where the program looks.
include(CMakePackageConfigHelpers)
set(OURA_SDK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/OuraCollectorSDK)
install(EXPORT OuraCollectorSDKTargets NAMESPACE OuraCollector:: DESTINATION ${OURA_SDK_CMAKE_DIR}
  COMPONENT dev)
configure_package_config_file(cmake/OuraCollectorSDKConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/OuraCollectorSDKConfig.cmake INSTALL_DESTINATION ${OURA_SDK_CMAKE_DIR}
  PATH_VARS OURA_PLUGIN_INSTALL_DIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/OuraCollectorSDKConfigVersion.cmake
  COMPATIBILITY ExactVersion)  # plugins must match the program's build (docs/plugin-authors.md)
install(FILES ${CMAKE_BINARY_DIR}/cmake/OuraCollectorSDKConfig.cmake
  ${CMAKE_BINARY_DIR}/cmake/OuraCollectorSDKConfigVersion.cmake
  DESTINATION ${OURA_SDK_CMAKE_DIR} COMPONENT dev)

# ---- CPack: Debian packages ----------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME oura-collector)
set(CPACK_PACKAGE_VENDOR "oura-collector")
set(CPACK_PACKAGE_CONTACT "${OURA_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)   # oura-collector-dev: Depends oura-collector (= version)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)          # oura-collector_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_INSTALL_FULL_LIBDIR}/oura-collector)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME oura-collector)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION misc)
# adduser: postinst creates the system user; the rest comes from dpkg-shlibdeps.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "postgresql")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "collect Oura Ring data into PostgreSQL on a systemd timer
oura-collector fetches a person's Oura Ring data from the Oura API v2
(daily scores, sleep periods with heart rate and HRV, activity,
workouts, tags, ring settings) and stores it as typed rows in
PostgreSQL, incrementally: each run starts where the last one ended, and
running twice changes nothing.

It connects as an OAuth2 client and rotates its tokens itself, keeping
them in a file of mode 0600 under /var/lib/oura-collector, in PostgreSQL
or in Azure Key Vault. A shared rate limiter and retry policy serve
every plugin; every exit code says what to do next.

The package creates the system user oura-collector and ships a hardened
systemd service with an hourly timer (oura-collector.timer) and
templates for several accounts (oura-collector@.timer). The sample
manifest is /etc/oura-collector/oura-collector.toml.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  ${OURA_DEBIAN_DIR}/postinst ${OURA_DEBIAN_DIR}/prerm ${OURA_DEBIAN_DIR}/postrm
  ${CMAKE_BINARY_DIR}/debian/conffiles)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles
  "${CMAKE_INSTALL_FULL_SYSCONFDIR}/oura-collector/oura-collector.toml\n")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME oura-collector-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libpoco-dev, libboost-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)  # headers, a symbolic link and CMake files only
set(CPACK_COMPONENT_DEV_DESCRIPTION "plugin SDK for oura-collector (headers, CMake package)
oura-collector fetches Oura Ring data from the Oura API v2 and stores it
through plugins: endpoint plugins know Oura's collections, sink plugins
store rows, token-store plugins keep the OAuth2 tokens.

This package holds what a plugin author needs to build a plugin outside
the project's source tree: the SDK headers (oura_sdk/*.hpp), the link to
the SDK library and the CMake package OuraCollectorSDK (find_package,
the target OuraCollector::oura_sdk and the folder the program loads
plugins from).")

include(CPack)
