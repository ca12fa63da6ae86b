/* The libini_config functions p4reg calls (see git/libgit2_syms.h for how
 * the list is used): the reader of the user's ~/.aws/credentials and
 * ~/.aws/config (remote/aws_config.c), loaded with dlopen when such a file
 * is first read. simplebuffer_* are libbasicobjects', which libini_config
 * links: dlsym finds them through its handle. CMake turns this list into
 * iniconfig_map.h. P4R_SYM_VOID: returns void, a no-op while not loaded. */
P4R_SYM(ini_config_create)
P4R_SYM_VOID(ini_config_destroy)
P4R_SYM_VOID(ini_config_file_destroy)
P4R_SYM(ini_config_file_from_mem)
P4R_SYM_VOID(ini_config_free_errors)
P4R_SYM(ini_config_get_errors)
P4R_SYM(ini_config_parse)
P4R_SYM_VOID(ini_free_section_list)
P4R_SYM(ini_get_config_valueobj)
P4R_SYM(ini_get_const_string_config_value)
P4R_SYM(ini_get_section_list)
P4R_SYM(simplebuffer_alloc)
P4R_SYM_VOID(simplebuffer_free)
P4R_SYM(simplebuffer_get_buf)
P4R_SYM(value_serialize)
