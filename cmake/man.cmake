# Man pages (issue 17): docs/man/*.scd -> build/man/NAME.SECTION with scdoc
# (docs/man/README.md says why scdoc), and a gzip'd copy for installing.
# Without scdoc the pages are skipped with a message; the build goes on.
find_program(P4REG_SCDOC scdoc)
find_program(P4REG_GZIP gzip)
file(GLOB P4REG_MAN_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.scd)
set(P4REG_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(P4REG_MAN_PAGES "")

if(NOT P4REG_SCDOC OR NOT P4REG_GZIP)
  message(STATUS "scdoc not found: man pages are not built (apt-get install scdoc)")
  return()
endif()

foreach(src ${P4REG_MAN_SOURCES})
  get_filename_component(page ${src} NAME_WLE)          # p4reg-promote.1
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  set(out ${P4REG_MAN_DIR}/${page})
  # scdoc reads stdin only; a failed page removes its output so the next
  # build tries again instead of keeping an empty file
  add_custom_command(OUTPUT ${out} ${out}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${P4REG_MAN_DIR}
    COMMAND sh -c "'${P4REG_SCDOC}' < '${src}' > '${out}' || { rm -f '${out}'; exit 1; }"
    COMMAND sh -c "'${P4REG_GZIP}' -9nc '${out}' > '${out}.gz'"
    DEPENDS ${src} VERBATIM
    COMMENT "man page ${page}")
  list(APPEND P4REG_MAN_PAGES ${out})
  install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${P4REG_MAN_PAGES})
