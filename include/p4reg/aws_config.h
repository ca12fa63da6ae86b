/* The user's AWS configuration, read as the AWS CLI reads it: the shared
 * credentials file (~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE),
 * the config file (~/.aws/config, or AWS_CONFIG_FILE), one profile of
 * them, and the AWS_* environment. An S3 remote (remote/s3.c) takes from
 * it what its own p4reg settings leave open; docs/remotes.md, "AWS
 * configuration", gives the whole order. The files are parsed by
 * libini_config (loaded with dlopen when a file exists), never by hand;
 * they are the user's own (HOME, the environment), never a repository's. */
#ifndef P4REG_AWS_CONFIG_H
#define P4REG_AWS_CONFIG_H
#include <stdbool.h>

typedef struct p4r_aws p4r_aws;

/* Where a setting came from: a phrase for messages ("AWS_REGION",
 * "profile 'dev' in '/home/u/.aws/config'"), never the value. */
typedef const char *p4r_aws_source;

/* A set of credentials: the access key id and secret, and the session
 * token or NULL, all from one source. Owned by the p4r_aws. */
typedef struct p4r_aws_keys {
	const char *access, *secret, *token;
	p4r_aws_source from;
} p4r_aws_keys;

/* Reads the profile and the environment into a new *OUT. The profile is
 * NAMED when not NULL (a remote's remote.NAME.profile from the user's own
 * config; NAMED_FROM says so in messages), else AWS_PROFILE, else
 * "default". A profile that was named (either way) and is in neither file
 * is P4R_ERROR naming it and both files; "default" may be absent. A file
 * that is missing is empty; one that cannot be read or parsed is P4R_ERROR
 * (with its line), one another user owns or can write is P4R_EREFUSED, an
 * invalid profile name P4R_EUSAGE. Free with p4r_aws_free. */
int p4r_aws_open(p4r_aws **out, const char *named, const char *named_from);
/* Frees AWS, wiping the secrets it held; NULL is fine. */
void p4r_aws_free(p4r_aws *aws);

/* The profile's name. */
const char *p4r_aws_profile(const p4r_aws *aws);

/* The region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region;
 * NULL when none of them is set. *FROM names where it came from. */
const char *p4r_aws_region(const p4r_aws *aws, p4r_aws_source *from);

/* The S3 endpoint URL: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
 * endpoint_url under s3 in the profile's services section, under s3 in
 * the profile, then the profile's endpoint_url; NULL when none, or when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's
 * ignore_configured_endpoint_urls is true. */
const char *p4r_aws_endpoint(const p4r_aws *aws, p4r_aws_source *from);

/* The profile's s3 addressing_style: 1 for "path", 0 for "virtual" or
 * "auto", -1 when unset. P4R_EUSAGE for another value. */
int p4r_aws_path_style(const p4r_aws *aws, int *out);

/* The credentials: a profile NAMED in p4r_aws_open is an explicit choice
 * (the CLI's --profile): its keys, the environment's unused. Otherwise
 * AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
 * then the profile's aws_access_key_id, aws_secret_access_key and
 * aws_session_token from the credentials file, then from the config file.
 * A source counts when it has the access key id; one without the secret
 * is P4R_ERROR naming it. No source: 0 with OUT->access NULL. */
int p4r_aws_credentials(const p4r_aws *aws, p4r_aws_keys *out);

#endif
