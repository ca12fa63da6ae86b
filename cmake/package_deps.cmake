# Run by cpack before it builds a package (CPACK_PROJECT_CONFIG_FILE, set
# in cmake/package.cmake): Depends gets the package of every runtime
# library the built binary does not link (DT_NEEDED) -- one it loads with
# dlopen, which dpkg-shlibdeps cannot see. Without dpkg-shlibdeps, every
# library's package.
if(CPACK_GENERATOR STREQUAL "DEB")
  execute_process(COMMAND ${CPACK_P4REG_OBJDUMP} -p ${CPACK_P4REG_BINARY}
                  OUTPUT_VARIABLE p4reg_dump RESULT_VARIABLE p4reg_res)
  if(NOT p4reg_res EQUAL 0)
    message(FATAL_ERROR "p4reg package: cannot read ${CPACK_P4REG_BINARY}")
  endif()
  string(REGEX MATCHALL "NEEDED[ \t]+[^ \t\r\n]+" p4reg_needed "${p4reg_dump}")
  string(REGEX REPLACE "NEEDED[ \t]+" "" p4reg_needed "${p4reg_needed}")
  set(p4reg_depends "")
  foreach(p4reg_pair ${CPACK_P4REG_RUNTIME_LIBS})
    string(REPLACE "=" ";" p4reg_kv ${p4reg_pair})
    list(GET p4reg_kv 0 p4reg_soname)
    list(GET p4reg_kv 1 p4reg_pkg)
    list(FIND p4reg_needed ${p4reg_soname} p4reg_at)
    if(p4reg_at EQUAL -1 OR NOT CPACK_P4REG_SHLIBDEPS)
      list(APPEND p4reg_depends ${p4reg_pkg})
    endif()
  endforeach()
  if(p4reg_depends)
    string(REPLACE ";" ", " CPACK_DEBIAN_PACKAGE_DEPENDS "${p4reg_depends}")
  endif()
endif()
