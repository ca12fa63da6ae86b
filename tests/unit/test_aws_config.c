/* Unit tests for aws_config.c: the user's ~/.aws/credentials and
 * ~/.aws/config read through libini_config, the profile chosen (named,
 * AWS_PROFILE, default), the order of every source of credentials, region
 * and endpoint, and the files refused (writable by others, another
 * user's, not a regular file, malformed) with one-line errors that never
 * hold a secret. HOME is a temporary folder; every AWS_* variable is
 * cleared before each test. */
#include "testutil.h"
#include "p4reg/aws_config.h"
#include "p4reg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const vars[] = {
	"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
	"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
};

struct fx {
	char *home, *aws, cred[512], conf[512];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	size_t i;

	fx->home = tu_mkdtemp();
	setenv("HOME", fx->home, 1);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(fx->cred, sizeof(fx->cred), "%s/.aws/credentials", fx->home);
	snprintf(fx->conf, sizeof(fx->conf), "%s/.aws/config", fx->home);
	if (asprintf(&fx->aws, "%s/.aws", fx->home) < 0 || mkdir(fx->aws, 0700) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_rmtree_free(fx->home);
	free(fx->aws);
	free(fx);
	return 0;
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static p4r_aws *open_ok(const char *named)
{
	p4r_aws *a = NULL;

	if (p4r_aws_open(&a, named, "remote.origin.profile") != 0)
		fail_msg("p4r_aws_open: %s", p4r_error_message());
	return a;
}

static void keys_are(const p4r_aws *a, const char *access, const char *secret, const char *token)
{
	p4r_aws_keys k;

	assert_int_equal(p4r_aws_credentials(a, &k), 0);
	if (!access) {
		assert_null(k.access);
		return;
	}
	assert_non_null(k.access);
	assert_string_equal(k.access, access);
	assert_string_equal(k.secret, secret);
	if (token)
		assert_string_equal(k.token, token);
	else
		assert_null(k.token);
}

/* Nothing configured: the default profile, absent, and nothing from it. */
static void test_nothing(void **state)
{
	p4r_aws *a = open_ok(NULL);
	p4r_aws_source from;
	int ps;

	(void)state;
	assert_string_equal(p4r_aws_profile(a), "default");
	assert_null(p4r_aws_region(a, &from));
	assert_null(p4r_aws_endpoint(a, &from));
	assert_int_equal(p4r_aws_path_style(a, &ps), 0);
	assert_int_equal(ps, -1);
	keys_are(a, NULL, NULL, NULL);
	p4r_aws_free(a);
	p4r_aws_free(NULL);
	/* no HOME: no default files, no error */
	unsetenv("HOME");
	a = open_ok(NULL);
	keys_are(a, NULL, NULL, NULL);
	p4r_aws_free(a);
}

/* The files as the AWS CLI writes and reads them: [default] and [dev] in
 * the credentials file, [default] and [profile dev] in the config file,
 * underscores in keys, comments, a long session token, values kept as
 * written (no inline comments, no escapes). */
static void test_profiles(void **state)
{
	struct fx *fx = *state;
	char *token = malloc(3001), *text = NULL;
	p4r_aws_source from;
	p4r_aws *a;

	memset(token, 'T', 3000);
	token[3000] = '\0';
	assert_true(asprintf(&text, "# made by hand\n; both comment styles\n[default]\n"
			     "aws_access_key_id = AKIADEFAULT\naws_secret_access_key = s3cr3t/+x ;#not a comment\n\n"
			     "[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=devsecret\n"
			     "aws_session_token = %s\n", token) > 0);
	put(fx->cred, text, 0600);
	put(fx->conf, "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n"
		      "endpoint_url = https://dev.example.com\n[dev]\nregion = not-a-profile-here\n", 0644);
	a = open_ok(NULL);
	assert_string_equal(p4r_aws_profile(a), "default");
	keys_are(a, "AKIADEFAULT", "s3cr3t/+x ;#not a comment", NULL);
	assert_string_equal(p4r_aws_region(a, &from), "eu-west-1");
	assert_non_null(strstr(from, "profile 'default' in '"));
	assert_non_null(strstr(from, "/.aws/config'"));
	assert_null(p4r_aws_endpoint(a, &from));
	p4r_aws_free(a);

	setenv("AWS_PROFILE", "dev", 1);
	a = open_ok(NULL);
	assert_string_equal(p4r_aws_profile(a), "dev");
	keys_are(a, "AKIADEV", "devsecret", token);
	assert_string_equal(p4r_aws_region(a, &from), "ap-south-1");
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://dev.example.com");
	p4r_aws_free(a);
	/* a profile named by the remote's own key comes before AWS_PROFILE */
	a = open_ok("default");
	assert_string_equal(p4r_aws_profile(a), "default");
	keys_are(a, "AKIADEFAULT", "s3cr3t/+x ;#not a comment", NULL);
	p4r_aws_free(a);
	/* [profile dev] is no profile in the credentials file, [dev] none in the config file */
	put(fx->cred, "[profile ops]\naws_access_key_id = A\naws_secret_access_key = B\n", 0600);
	put(fx->conf, "[ops]\nregion = eu-north-1\n", 0600);
	assert_int_equal(p4r_aws_open(&a, "ops", "remote.origin.profile"), P4R_ERROR);
	assert_null(a);
	/* keys in any case (configparser lowers them); profile names exactly as written */
	put(fx->cred, "[Ops]\nAWS_Access_Key_ID = UPPER\nAWS_SECRET_ACCESS_KEY = S\n", 0600);
	a = open_ok("Ops");
	keys_are(a, "UPPER", "S", NULL);
	p4r_aws_free(a);
	assert_int_equal(p4r_aws_open(&a, "ops", "remote.origin.profile"), P4R_ERROR);
	free(text);
	free(token);
}

/* The credentials file before the config file, for the keys; the config
 * file's keys when the credentials file has none for the profile. */
static void test_file_order(void **state)
{
	struct fx *fx = *state;
	p4r_aws_keys k;
	p4r_aws *a;

	put(fx->conf, "[profile dev]\naws_access_key_id = FROMCONFIG\naws_secret_access_key = c\n", 0600);
	a = open_ok("dev");
	keys_are(a, "FROMCONFIG", "c", NULL);
	assert_int_equal(p4r_aws_credentials(a, &k), 0);
	assert_non_null(strstr(k.from, "/.aws/config'"));
	p4r_aws_free(a);
	put(fx->cred, "[dev]\naws_access_key_id = FROMCRED\naws_secret_access_key = k\n", 0600);
	a = open_ok("dev");
	keys_are(a, "FROMCRED", "k", NULL);
	assert_int_equal(p4r_aws_credentials(a, &k), 0);
	assert_non_null(strstr(k.from, "profile 'dev' in '"));
	assert_non_null(strstr(k.from, "/.aws/credentials'"));
	p4r_aws_free(a);
}

/* The environment's keys before AWS_PROFILE's (as the CLI), a profile the
 * remote names before the environment's keys (as the CLI's --profile);
 * a set is taken whole from one source. */
static void test_env_and_named(void **state)
{
	struct fx *fx = *state;
	p4r_aws_keys k;
	p4r_aws *a;

	put(fx->cred, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
		      "aws_session_token = filetoken\n[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = d\n",
	    0600);
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	a = open_ok(NULL);
	keys_are(a, "ENVKEY", "envsecret", NULL); /* the file's token does not join the environment's keys */
	assert_int_equal(p4r_aws_credentials(a, &k), 0);
	assert_string_equal(k.from, "AWS_ACCESS_KEY_ID");
	p4r_aws_free(a);
	setenv("AWS_PROFILE", "dev", 1);
	a = open_ok(NULL);
	keys_are(a, "ENVKEY", "envsecret", NULL);
	p4r_aws_free(a);
	a = open_ok("dev");
	keys_are(a, "DEVKEY", "d", NULL);
	p4r_aws_free(a);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	unsetenv("AWS_PROFILE");
	a = open_ok(NULL);
	keys_are(a, "ENVKEY", "envsecret", "envtoken");
	p4r_aws_free(a);
	/* an access key id without its secret: an error naming the source */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	a = open_ok(NULL);
	assert_int_equal(p4r_aws_credentials(a, &k), P4R_ERROR);
	assert_string_equal(p4r_error_message(), "incomplete S3 credentials in AWS_ACCESS_KEY_ID: an access "
			    "key id without AWS_SECRET_ACCESS_KEY");
	p4r_aws_free(a);
	/* a secret alone is no source: the profile's keys */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	a = open_ok(NULL);
	keys_are(a, "FILEKEY", "filesecret", "filetoken");
	p4r_aws_free(a);
	/* empty variables are unset */
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	setenv("AWS_PROFILE", "", 1);
	a = open_ok(NULL);
	assert_string_equal(p4r_aws_profile(a), "default");
	keys_are(a, "FILEKEY", "filesecret", "filetoken");
	p4r_aws_free(a);
	put(fx->cred, "[dev]\naws_access_key_id = DEVKEY\n", 0600);
	a = open_ok("dev");
	assert_int_equal(p4r_aws_credentials(a, &k), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "incomplete S3 credentials in profile 'dev' in '"));
	assert_non_null(strstr(p4r_error_message(), "': an access key id without aws_secret_access_key"));
	p4r_aws_free(a);
}

static void test_region(void **state)
{
	struct fx *fx = *state;
	p4r_aws_source from;
	p4r_aws *a;

	put(fx->conf, "[default]\nregion = eu-west-3\n", 0600);
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	a = open_ok(NULL);
	assert_string_equal(p4r_aws_region(a, &from), "us-west-2");
	assert_string_equal(from, "AWS_DEFAULT_REGION");
	setenv("AWS_REGION", "ca-central-1", 1);
	assert_string_equal(p4r_aws_region(a, &from), "ca-central-1");
	assert_string_equal(from, "AWS_REGION");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	assert_string_equal(p4r_aws_region(a, &from), "eu-west-3");
	p4r_aws_free(a);
}

/* AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, [services X] s3 endpoint_url,
 * the profile's s3 endpoint_url, the profile's endpoint_url; ignored
 * altogether by AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile. */
static void test_endpoint(void **state)
{
	struct fx *fx = *state;
	p4r_aws_source from;
	p4r_aws *a;
	int ps;

	put(fx->conf, "[profile dev]\nendpoint_url = https://global.example\nservices = local\n"
		      "s3 =\n  addressing_style = path\n  # a comment in the sub-section\n"
		      "  endpoint_url = https://nested.example\n\n"
		      "[services local]\ndynamodb =\n  endpoint_url = https://dynamo.example\n"
		      "s3 =\n\tendpoint_url = https://service.example:9000\n"
		      "[profile plain]\nendpoint_url = https://global.example\n"
		      "s3 =\n  addressing_style = virtual\n"
		      "[profile bad]\ns3 =\n  addressing_style = sideways\n"
		      "[profile nested]\ns3 =\n  endpoint_url = https://nested.example\n"
		      "[profile off]\nendpoint_url = https://global.example\nignore_configured_endpoint_urls = true\n",
	    0600);
	a = open_ok("dev");
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://service.example:9000");
	assert_non_null(strstr(from, "services 'local' in '"));
	assert_int_equal(p4r_aws_path_style(a, &ps), 0);
	assert_int_equal(ps, 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	assert_string_equal(p4r_aws_endpoint(a, &from), "http://127.0.0.1:1");
	assert_string_equal(from, "AWS_ENDPOINT_URL");
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2", 1);
	assert_string_equal(p4r_aws_endpoint(a, &from), "http://127.0.0.1:2");
	assert_string_equal(from, "AWS_ENDPOINT_URL_S3");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
	assert_null(p4r_aws_endpoint(a, &from));
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL");
	p4r_aws_free(a);

	a = open_ok("nested");
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://nested.example");
	p4r_aws_free(a);
	a = open_ok("plain");
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://global.example");
	assert_int_equal(p4r_aws_path_style(a, &ps), 0);
	assert_int_equal(ps, 0);
	p4r_aws_free(a);
	a = open_ok("bad");
	assert_int_equal(p4r_aws_path_style(a, &ps), P4R_EUSAGE);
	assert_non_null(strstr(p4r_error_message(), "invalid s3 addressing_style of profile 'bad' in '"));
	p4r_aws_free(a);
	a = open_ok("off");
	assert_null(p4r_aws_endpoint(a, &from));
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1); /* the environment before the profile */
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://global.example");
	p4r_aws_free(a);
}

/* The comment lines above "s3 =" are the sub-section's comment, not its
 * lines: a setting written in one (kept for later, or an example) is not
 * read, and a comment configparser skips is never a parse error. */
static void test_comment_above_subsection(void **state)
{
	struct fx *fx = *state;
	p4r_aws_source from;
	p4r_aws *a;
	int ps;

	put(fx->conf, "[default]\nregion = eu-west-1\n"
		      "# to use the old minio: s3 = endpoint_url = https://old.example\n\n"
		      "; addressing: s3 = addressing_style = virtual\n"
		      "s3 =\n  addressing_style = path\n"
		      "[profile dev]\n# minio: endpoint_url=[https://old.example] (retired)\n"
		      "s3 =\n  endpoint_url = https://new.example\n",
	    0600);
	a = open_ok(NULL);
	assert_null(p4r_aws_endpoint(a, &from));
	assert_int_equal(p4r_aws_path_style(a, &ps), 0);
	assert_int_equal(ps, 1);
	p4r_aws_free(a);
	a = open_ok("dev");
	assert_string_equal(p4r_aws_endpoint(a, &from), "https://new.example");
	p4r_aws_free(a);
}

/* AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, "~/" as the home folder. */
static void test_file_variables(void **state)
{
	struct fx *fx = *state;
	char path[600];
	p4r_aws_source from;
	p4r_aws *a;

	snprintf(path, sizeof(path), "%s/elsewhere", fx->home);
	put(path, "[ci]\naws_access_key_id = CIKEY\naws_secret_access_key = ci\n", 0600);
	put(fx->cred, "[ci]\naws_access_key_id = NOTTHIS\naws_secret_access_key = no\n", 0600);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	a = open_ok("ci");
	keys_are(a, "CIKEY", "ci", NULL);
	p4r_aws_free(a);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere", 1);
	a = open_ok("ci");
	keys_are(a, "CIKEY", "ci", NULL);
	p4r_aws_free(a);
	snprintf(path, sizeof(path), "%s/conf2", fx->home);
	put(path, "[profile ci]\nregion = sa-east-1\n", 0600);
	setenv("AWS_CONFIG_FILE", "~/conf2", 1);
	a = open_ok("ci");
	assert_string_equal(p4r_aws_region(a, &from), "sa-east-1");
	p4r_aws_free(a);
	/* a variable naming no file: that file is empty */
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	a = open_ok("ci");
	assert_null(p4r_aws_region(a, &from));
	p4r_aws_free(a);
	/* /dev/null, as scripts say "none" (the one device read): empty too */
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	a = open_ok("ci");
	assert_null(p4r_aws_region(a, &from));
	p4r_aws_free(a);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
	a = open_ok(NULL);
	keys_are(a, NULL, NULL, NULL);
	p4r_aws_free(a);
}

/* A profile that was named must exist (either way it was named); the
 * default one need not. */
static void test_missing_profile(void **state)
{
	struct fx *fx = *state;
	char want[1400];
	p4r_aws *a = NULL;

	put(fx->cred, "[default]\naws_access_key_id = K\naws_secret_access_key = S\n", 0600);
	assert_int_equal(p4r_aws_open(&a, "nope", "remote.origin.profile"), P4R_ERROR);
	assert_null(a);
	snprintf(want, sizeof(want), "no AWS profile 'nope' (remote.origin.profile) in '%s' or '%s'", fx->cred,
		 fx->conf);
	assert_string_equal(p4r_error_message(), want);
	setenv("AWS_PROFILE", "gone", 1);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	snprintf(want, sizeof(want), "no AWS profile 'gone' (AWS_PROFILE) in '%s' or '%s'", fx->cred, fx->conf);
	assert_string_equal(p4r_error_message(), want);
	/* a profile with no keys at all exists: [profile x] alone in the config */
	put(fx->conf, "[profile empty]\n", 0600);
	a = open_ok("empty");
	keys_are(a, NULL, NULL, NULL);
	p4r_aws_free(a);
	assert_int_equal(p4r_aws_open(&a, "bad]name", "remote.origin.profile"), P4R_EUSAGE);
	assert_string_equal(p4r_error_message(), "invalid AWS profile name in remote.origin.profile (1 to 128 "
			    "printable characters, no ']')");
	assert_int_equal(p4r_aws_open(&a, "tab\tname", "remote.origin.profile"), P4R_EUSAGE);
}

/* Files the user cannot vouch for are refused; one only others can read is
 * not (the AWS CLI reads it too). */
static void test_file_checks(void **state)
{
	struct fx *fx = *state;
	char want[1200];
	p4r_aws *a = NULL;

	put(fx->cred, "[default]\naws_access_key_id = K\naws_secret_access_key = S\n", 0644);
	a = open_ok(NULL);
	keys_are(a, "K", "S", NULL);
	p4r_aws_free(a);
	assert_int_equal(chmod(fx->cred, 0620), 0);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_EREFUSED);
	snprintf(want, sizeof(want), "refusing AWS file '%s': other users can write it, and it decides "
		 "where your credentials go (chmod go-w '%s')", fx->cred, fx->cred);
	assert_string_equal(p4r_error_message(), want);
	assert_int_equal(chmod(fx->cred, 0602), 0);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_EREFUSED);
	assert_int_equal(chmod(fx->cred, 0600), 0);
	if (geteuid() == 0) {
		/* root may hand the file to someone else: then it is not ours */
		assert_int_equal(chown(fx->cred, 65534, 65534), 0);
		assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_EREFUSED);
		snprintf(want, sizeof(want), "refusing AWS file '%s': it belongs to another user", fx->cred);
		assert_string_equal(p4r_error_message(), want);
		assert_int_equal(chown(fx->cred, 0, 0), 0);
	}
	/* a FIFO is refused at once, never waited on; a folder too */
	assert_int_equal(unlink(fx->cred), 0);
	assert_int_equal(mkfifo(fx->cred, 0600), 0);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	snprintf(want, sizeof(want), "AWS file '%s' is not a regular file", fx->cred);
	assert_string_equal(p4r_error_message(), want);
	assert_int_equal(unlink(fx->cred), 0);
	assert_int_equal(mkdir(fx->cred, 0700), 0);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	assert_int_equal(rmdir(fx->cred), 0);
	/* a symlink to the user's own file is followed (dotfile managers) */
	put(fx->conf, "[default]\nregion = us-west-1\n", 0600);
	assert_int_equal(symlink(fx->conf, fx->cred), 0);
	a = open_ok(NULL);
	p4r_aws_free(a);
}

/* A malformed file: its line and the problem, never the line's text. */
static void test_malformed(void **state)
{
	struct fx *fx = *state;
	char want[1200];
	p4r_aws *a = NULL;

	put(fx->cred, "[default]\naws_access_key_id = K\nSUPERSECRETVALUE\n", 0600);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	snprintf(want, sizeof(want), "cannot parse AWS file '%s': line 3: Equal sign is missing", fx->cred);
	assert_string_equal(p4r_error_message(), want);
	/* configparser refuses repeated sections and keys; so does p4reg */
	put(fx->cred, "[default]\naws_access_key_id = K\naws_access_key_id = L\n", 0600);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "': line 3: Duplicate key is not allowed"));
	put(fx->cred, "[default]\nx = 1\n[default]\ny = 2\n", 0600);
	assert_int_equal(p4r_aws_open(&a, NULL, NULL), P4R_ERROR);
	assert_non_null(strstr(p4r_error_message(), "': line 3: Duplicate section is not allowed"));
	assert_null(strstr(p4r_error_message(), "SUPERSECRET"));
	put(fx->cred, "", 0600);
	put(fx->conf, "[profile dev]\nregion\n", 0600);
	assert_int_equal(p4r_aws_open(&a, "dev", "remote.origin.profile"), P4R_ERROR);
	snprintf(want, sizeof(want), "cannot parse AWS file '%s': line 2: Equal sign is missing", fx->conf);
	assert_string_equal(p4r_error_message(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_and_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comment_above_subsection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_variables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
