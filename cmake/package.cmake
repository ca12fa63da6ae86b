# The Debian package (issue 17): `cpack -G DEB` in a build folder makes
# p4reg_VERSION_ARCH.deb of what `cmake --install` installs. Its Depends:
# dpkg-shlibdeps reads the libraries the binary links (DT_NEEDED), with
# the versions their symbols need; a library p4reg loads with dlopen is
# not among them, so cmake/package_deps.cmake (run by cpack) adds the
# package of each library found here that the built binary does not link.
# cmocka is only for the tests: nothing here names it.

# OUT: the SONAME of pkg-config module PREFIX's shared library lib<NAME>.so.
function(p4reg_pkg_soname out prefix name)
  set(${out} "" PARENT_SCOPE)
  foreach(lib ${${prefix}_LINK_LIBRARIES})
    if(lib MATCHES "/lib${name}\\.so" AND CMAKE_OBJDUMP)
      execute_process(COMMAND ${CMAKE_OBJDUMP} -p ${lib} OUTPUT_VARIABLE dump ERROR_QUIET)
      if(dump MATCHES "SONAME[ \t]+([^ \t\r\n]+)")
        set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
      endif()
      return()
    endif()
  endforeach()
endfunction()

# OUT: the Debian package that installs SONAME: dpkg -S of the file the
# linker's symlink leads to (libgit2.so -> libgit2.so.1.5.1: libgit2-1.5).
function(p4reg_pkg_of out prefix name)
  set(${out} "" PARENT_SCOPE)
  foreach(lib ${${prefix}_LINK_LIBRARIES})
    if(lib MATCHES "/lib${name}\\.so")
      get_filename_component(real ${lib} REALPATH)
      execute_process(COMMAND dpkg-query -S ${real} OUTPUT_VARIABLE owner ERROR_QUIET
                      RESULT_VARIABLE res)
      if(res EQUAL 0 AND owner MATCHES "^([^:, ]+)")
        set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
      endif()
      return()
    endif()
  endforeach()
endfunction()

# SONAME=package of every library p4reg uses at run time.
set(P4REG_RUNTIME_LIBS "")
foreach(spec "SQLITE3;sqlite3" "LIBGIT2;git2" "LIBCRYPTO;crypto" "CJSON;cjson" "CURL;curl"
             "INICONFIG;ini_config" "YAML;yaml")
  list(GET spec 0 prefix)
  list(GET spec 1 name)
  p4reg_pkg_soname(soname ${prefix} ${name})
  p4reg_pkg_of(pkg ${prefix} ${name})
  if(soname AND pkg)
    list(APPEND P4REG_RUNTIME_LIBS "${soname}=${pkg}")
  else()
    message(STATUS "p4reg package: no Debian package found for lib${name}; Depends will lack it")
  endif()
endforeach()

set(CPACK_PACKAGE_NAME p4reg)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR p4reg)
set(P4REG_PACKAGE_MAINTAINER "p4reg developers <p4reg@localhost>" CACHE STRING
    "the Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT ${P4REG_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "model registry and artifact versioning tool")
set(CPACK_PACKAGE_DESCRIPTION "A content-addressed store with Git LFS's object layout and DVC-style \
pointer files, a SQLite registry of numbered versions with stages, metric gates and rollback, \
folder and S3 remotes, in one small binary with git-style commands.")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS git)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "git-lfs, bash-completion")
find_program(P4REG_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(P4REG_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "p4reg package: no dpkg-shlibdeps (dpkg-dev): Depends names every library unversioned")
endif()
set(CPACK_P4REG_RUNTIME_LIBS ${P4REG_RUNTIME_LIBS})
set(CPACK_P4REG_BINARY ${CMAKE_BINARY_DIR}/p4reg)
set(CPACK_P4REG_SHLIBDEPS ${CPACK_DEBIAN_PACKAGE_SHLIBDEPS})
set(CPACK_P4REG_OBJDUMP ${CMAKE_OBJDUMP})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/cmake/package_deps.cmake)
include(CPack)
