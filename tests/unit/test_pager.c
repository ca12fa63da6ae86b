/* Unit tests for the pager (util/pager.c): which one is chosen, and that
 * output reaches it, whole, before p4r_pager_finish returns. */
#include "testutil.h"
#include "p4reg/error.h"
#include "p4reg/pager.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_choose(void **state)
{
	(void)state;
	unsetenv("P4REG_PAGER");
	unsetenv("PAGER");
	assert_string_equal(p4r_pager_choose(NULL), "less");
	setenv("PAGER", "more", 1);
	assert_string_equal(p4r_pager_choose(NULL), "more");
	assert_string_equal(p4r_pager_choose("most -s"), "most -s");   /* core.pager before PAGER */
	setenv("P4REG_PAGER", "pg", 1);
	assert_string_equal(p4r_pager_choose("most -s"), "pg");        /* P4REG_PAGER first */
	setenv("P4REG_PAGER", "cat", 1);
	assert_null(p4r_pager_choose("most"));                         /* cat: none */
	setenv("P4REG_PAGER", "", 1);
	assert_null(p4r_pager_choose("most"));                         /* empty: none */
	unsetenv("P4REG_PAGER");
	assert_null(p4r_pager_choose(""));
	setenv("PAGER", "", 1);
	assert_null(p4r_pager_choose(NULL));
	unsetenv("PAGER");
}

/* Runs the pager CMD around printing TEXT; returns the saved stdout back. */
static int paged(const char *cmd, const char *text)
{
	int saved = dup(STDOUT_FILENO), rc;

	assert_true(saved >= 0);
	rc = p4r_pager_start(cmd);
	fputs(text, stdout);
	p4r_pager_finish();
	fflush(stdout);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	return rc;
}

static void test_pipe(void **state)
{
	char *dir = tu_mkdtemp(), cmd[512], path[256], *got;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/paged", dir);
	/* a shell line: LESS is set for it when unset */
	unsetenv("LESS");
	snprintf(cmd, sizeof(cmd), "{ echo \"LESS=$LESS\"; cat; } > '%s'", path);
	assert_int_equal(paged(cmd, "line one\nline two\n"), 0);
	got = tu_slurp(path, &len);
	assert_string_equal(got, "LESS=FRX\nline one\nline two\n");
	free(got);
	assert_null(getenv("LESS")); /* set in the pager only */
	/* a program that does not exist: an error, stdout untouched */
	assert_int_equal(paged("/nonexistent/pager", ""), P4R_ENOTFOUND);
	assert_non_null(strstr(p4r_error_message(), "cannot run the pager '/nonexistent/pager'"));
	p4r_pager_finish(); /* none runs: nothing */
	tu_rmtree_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
