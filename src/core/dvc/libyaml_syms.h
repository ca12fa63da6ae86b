/* The libyaml functions p4reg calls (see git/libgit2_syms.h for how the
 * list is used): the reader of .dvc files (dvc/dvc.c), loaded with dlopen
 * when `p4reg import dvc` first reads one. CMake turns this list into
 * libyaml_map.h. P4R_SYM_VOID: returns void, a no-op while not loaded. */
P4R_SYM_VOID(yaml_document_delete)
P4R_SYM(yaml_document_get_node)
P4R_SYM(yaml_document_get_root_node)
P4R_SYM_VOID(yaml_parser_delete)
P4R_SYM(yaml_parser_initialize)
P4R_SYM(yaml_parser_load)
P4R_SYM_VOID(yaml_parser_set_input_string)
