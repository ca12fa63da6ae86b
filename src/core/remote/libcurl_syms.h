/* The libcurl functions p4reg calls: the one list (see git/libgit2_syms.h for
 * how it is used). libcurl is loaded with dlopen by the first S3 request;
 * CMake turns this list into libcurl_map.h. P4R_SYM_VOID: returns void and
 * is a no-op while libcurl is not loaded. */
P4R_SYM_VOID(curl_easy_cleanup)
P4R_SYM(curl_easy_getinfo)
P4R_SYM(curl_easy_init)
P4R_SYM(curl_easy_perform)
P4R_SYM_VOID(curl_easy_reset)
P4R_SYM(curl_easy_setopt)
P4R_SYM(curl_easy_strerror)
P4R_SYM(curl_global_init)
P4R_SYM(curl_slist_append)
P4R_SYM_VOID(curl_slist_free_all)
