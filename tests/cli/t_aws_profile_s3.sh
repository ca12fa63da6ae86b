#!/usr/bin/env bash
# End-to-end: S3 settings from the user's AWS files and environment, as
# every S3 tool reads them (docs/remotes.md, "AWS configuration"), against
# a throw-away Ceph RADOS Gateway (tests/s3/ceph.sh): ~/.aws/credentials
# and ~/.aws/config profiles (default, AWS_PROFILE, remote.NAME.profile),
# AWS_ENDPOINT_URL_S3 and the profile's endpoint_url, the region, the order
# of the sources, a profile that does not exist, files others can write,
# and the committed .p4reg/config, which can choose neither a profile nor
# an endpoint. Which source won is seen through the server: the right keys
# push, wrong ones get 403; a wrong endpoint is a dead port; a wrong region
# is an invalid one. No secret appears in any output. Named *_s3 so that
# `ctest -E s3` leaves it out with the other tests that need Ceph.
. "$(dirname "$0")/lib.sh"
. "$P4REG_SRC/tests/s3/ceph.sh"

ceph_up t_aws_profile_s3
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET python3 - <<PY || fail "create bucket"
import boto3
boto3.client("s3", endpoint_url="$RGW_ENDPOINT", region_name="us-east-1").create_bucket(Bucket="models")
PY

DEAD="http://127.0.0.1:$(free_port)"  # nothing listens there
WRONG=wrongsecretwrongsecretwrongsecret0000000
TOKEN=FQoGZXIvYXdzEXAMPLETOKENp4regTOKENzzzzzzzzzzzzzzzzzzzzzz
AWS=$HOME/.aws
mkdir -p "$AWS"
# creds FILE: writes ~/.aws/credentials (0600) from the arguments, one line each
creds() { printf '%s\n' "$@" >"$AWS/credentials"; chmod 600 "$AWS/credentials"; }
conf() { printf '%s\n' "$@" >"$AWS/config"; chmod 600 "$AWS/config"; }
RIGHT=("aws_access_key_id = $S3_ACCESS" "aws_secret_access_key = $S3_SECRET")
BAD=("aws_access_key_id = $S3_ACCESS" "aws_secret_access_key = $WRONG")
# every output of the test, to check that no secret was ever printed
ALL_OUT=$ROOT_TMP/all-output
seen() { printf '%s\n%s\n' "$OUT" "$ERR" >>"$ALL_OUT"; }

R="$ROOT_TMP/repo"; mkdir -p "$R"; cd "$R"
p4reg init >/dev/null
# the team's committed config: the bucket and nothing else
git config -f .p4reg/config remote.origin.url s3://models/prof
git config -f .p4reg/config core.remote origin
random_file m.bin 40
p4reg add m.bin -n m -m one >/dev/null 2>&1 || fail "add"
N=1
# push_new: registers a new version and pushes it (exit CODE)
push_new() {
	local code=$1
	shift
	N=$((N + 1)); random_file m.bin 8; p4reg add m.bin -m "v$N" >/dev/null 2>&1
	run "$code" "$@" p4reg push; seen
}

begin "the default profile: keys from ~/.aws/credentials, endpoint and path style from ~/.aws/config"
creds "[default]" "${RIGHT[@]}"
conf "[default]" "region = us-east-1" "endpoint_url = $RGW_ENDPOINT" "s3 =" "  addressing_style = path"
run 0 p4reg push && assert_contains "$OUT" "published as batch 1"; seen
run 0 p4reg fetch; seen

begin "AWS_PROFILE picks another profile; its keys win over [default]'s"
creds "[default]" "${BAD[@]}" "[dev]" "${RIGHT[@]}"
conf "[default]" "endpoint_url = $RGW_ENDPOINT" "s3 =" "  addressing_style = path" \
	"[profile dev]" "endpoint_url = $RGW_ENDPOINT" "s3 =" "  addressing_style = path"
push_new 1 && assert_one_line_error "refused (HTTP 403"
AWS_PROFILE=dev push_new 0

begin "remote.origin.profile (the user's own config) picks the profile, before AWS_PROFILE"
p4reg config --local remote.origin.profile dev
AWS_PROFILE=default push_new 0
p4reg config --local --unset remote.origin.profile
mkdir -p "$XDG_CONFIG_HOME/p4reg"
git config -f "$XDG_CONFIG_HOME/p4reg/config" remote.origin.profile dev
push_new 0
rm "$XDG_CONFIG_HOME/p4reg/config"
push_new 1 && assert_one_line_error "refused (HTTP 403"

begin "the endpoint from AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and [services] s3 endpoint_url"
creds "[default]" "${RIGHT[@]}"
conf "[default]" "s3 =" "  addressing_style = path"
AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
AWS_ENDPOINT_URL=$RGW_ENDPOINT push_new 0
AWS_ENDPOINT_URL=$DEAD AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0 # the S3 one first
conf "[default]" "services = here" "endpoint_url = $DEAD" "s3 =" "  addressing_style = path" \
	"[services here]" "dynamodb =" "  endpoint_url = $DEAD" "s3 =" "  endpoint_url = $RGW_ENDPOINT"
push_new 0

begin "the environment before the profile; the remote's own p4reg settings before both"
conf "[default]" "endpoint_url = $DEAD" "region = eu west" "s3 =" "  addressing_style = path" \
	"[profile dev]" "s3 =" "  addressing_style = path"
run 2 p4reg fetch && assert_one_line_error "invalid region in profile 'default' in '$AWS/config'"
AWS_REGION=eu-central-1 run 1 p4reg fetch && assert_one_line_error "Couldn't connect to server"; seen # the profile's dead endpoint
AWS_REGION=eu-central-1 AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
AWS_DEFAULT_REGION=eu-central-1 AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
# the remote's own settings in the user's config.local beat the environment
p4reg config --local remote.origin.region us-east-1
p4reg config --local remote.origin.endpoint "$RGW_ENDPOINT"
AWS_REGION='bad region' AWS_ENDPOINT_URL_S3=$DEAD push_new 0
# keys: remote.origin.accessKeyId beats AWS_ACCESS_KEY_ID, which beats the profile
creds "[default]" "${BAD[@]}"
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET push_new 0
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$WRONG push_new 1 && assert_one_line_error "refused (HTTP 403"
p4reg config --local remote.origin.accessKeyId "$S3_ACCESS"
p4reg config --local remote.origin.secretAccessKey "$S3_SECRET"
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$WRONG push_new 0
p4reg config --local remote.origin.secretAccessKey "$WRONG"
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET push_new 1 && assert_one_line_error "refused (HTTP 403"
p4reg config --local --unset remote.origin.accessKeyId
p4reg config --local --unset remote.origin.secretAccessKey
# a profile the remote names is an explicit choice, as the CLI's --profile: before the environment's keys
creds "[default]" "${BAD[@]}" "[dev]" "${RIGHT[@]}"
p4reg config --local remote.origin.profile dev
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$WRONG push_new 0
p4reg config --local --unset remote.origin.profile
# AWS_PROFILE is not: the environment's keys come first, as in the CLI
AWS_PROFILE=dev AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$WRONG push_new 1 &&
	assert_one_line_error "refused (HTTP 403"

begin "a session token goes with the keys of its own source, never printed"
# RGW without STS ignores a token, so the token is made unusable (over
# 8192 bytes, exit 2) to see which keys it went with
LONG=$(head -c 9000 /dev/zero | tr '\0' T)
creds "[default]" "${RIGHT[@]}" "aws_session_token = $LONG"
run 2 p4reg fetch && assert_one_line_error "the S3 session token for remote 'origin' (from profile 'default' in '$AWS/credentials') is longer than 8192 bytes"
AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET run 0 p4reg fetch # not the file's token
creds "[default]" "${RIGHT[@]}"
AWS_SESSION_TOKEN=$LONG run 0 p4reg fetch # the environment's token without its keys: unused
AWS_SESSION_TOKEN=$LONG AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET run 2 p4reg fetch &&
	assert_one_line_error "(from AWS_ACCESS_KEY_ID) is longer than 8192 bytes"
creds "[default]" "${RIGHT[@]}" "aws_session_token = $TOKEN"
run 0 p4reg fetch; seen # a token RGW ignores: signed and sent, never printed
creds "[default]" "${RIGHT[@]}"

begin "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE"
p4reg config --local --unset remote.origin.endpoint
p4reg config --local --unset remote.origin.region
mv "$AWS/credentials" "$ROOT_TMP/creds"; mv "$AWS/config" "$ROOT_TMP/conf"
printf '[profile ci]\nendpoint_url = %s\ns3 =\n  addressing_style = path\n' "$RGW_ENDPOINT" >"$ROOT_TMP/conf"
printf '[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS" "$S3_SECRET" >"$ROOT_TMP/creds"
AWS_PROFILE=ci AWS_SHARED_CREDENTIALS_FILE=$ROOT_TMP/creds AWS_CONFIG_FILE=$ROOT_TMP/conf push_new 0
mv "$ROOT_TMP/creds" "$AWS/credentials"; mv "$ROOT_TMP/conf" "$AWS/config"

begin "a profile that does not exist: one line naming it and both files, exit 1, nothing changed"
before=$(snapshot)
AWS_PROFILE=nope run 1 p4reg push; seen
assert_one_line_error "no AWS profile 'nope' (AWS_PROFILE) in '$AWS/credentials' or '$AWS/config'"
p4reg config --local remote.origin.profile gone
run 1 p4reg fetch && assert_one_line_error "no AWS profile 'gone' (remote.origin.profile) in '$AWS/credentials' or '$AWS/config'"
p4reg config --local --unset remote.origin.profile
AWS_PROFILE=nope run 1 p4reg --json push; seen
assert_contains "$OUT" '"message":"no AWS profile '"'nope'"' (AWS_PROFILE) in '
assert_eq "$(snapshot)" "$before" "a failed push changed something"

begin "files other users can write are refused (exit 3); readable ones are read, as the CLI reads them"
AWS_PROFILE=ci run 0 p4reg fetch; seen
chmod 644 "$AWS/credentials" "$AWS/config"
AWS_PROFILE=ci push_new 0
chmod 664 "$AWS/config"
AWS_PROFILE=ci run 3 p4reg fetch
assert_one_line_error "refusing AWS file '$AWS/config': other users can write it"
chmod 600 "$AWS/config"; chmod 606 "$AWS/credentials"
AWS_PROFILE=ci run 3 p4reg fetch && assert_one_line_error "refusing AWS file '$AWS/credentials'"
chmod 600 "$AWS/credentials"
chown 65534 "$AWS/credentials" 2>/dev/null &&
	{ AWS_PROFILE=ci run 3 p4reg fetch && assert_one_line_error "it belongs to another user"; chown "$(id -u)" "$AWS/credentials"; }
printf '[ci]\naws_access_key_id = %s\n%s\n' "$S3_ACCESS" "$S3_SECRET" >"$AWS/credentials"
AWS_PROFILE=ci run 1 p4reg fetch && assert_one_line_error "cannot parse AWS file '$AWS/credentials': line 3: Equal sign is missing"
assert_not_contains "$ERR" "$S3_SECRET"; seen

begin "the committed .p4reg/config chooses neither a profile nor an endpoint for the credentials"
creds "[default]" "${RIGHT[@]}" "[evil]" "${BAD[@]}"
conf "[default]" "s3 =" "  addressing_style = path"
git config -f .p4reg/config remote.origin.profile evil     # ignored: the default profile's keys
git config -f .p4reg/config remote.origin.profile-unused x # (an unknown key changes nothing either)
AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
git config -f .p4reg/config remote.origin.profile nope     # a missing profile there is no error: never read
AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
# an endpoint only the committed config names never gets the profile's credentials
git config -f .p4reg/config remote.origin.endpoint "$DEAD"
AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT run 3 p4reg fetch; seen
assert_one_line_error "would send your S3 credentials to '$DEAD', which only the committed .p4reg/config names"
# the same endpoint in the user's environment or profile is the user's word
git config -f .p4reg/config remote.origin.endpoint "$RGW_ENDPOINT"
AWS_ENDPOINT_URL_S3=$RGW_ENDPOINT push_new 0
conf "[default]" "endpoint_url = $RGW_ENDPOINT/" "s3 =" "  addressing_style = path"
push_new 0
git config -f .p4reg/config --unset remote.origin.endpoint
git config -f .p4reg/config --unset remote.origin.profile
git config -f .p4reg/config --unset remote.origin.profile-unused

begin "p4reg get on a box with only ~/.aws: no flags, no p4reg config"
SBOX=$ROOT_TMP/box; mkdir -p "$SBOX/home/.aws" "$SBOX/srv"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS" "$S3_SECRET" \
	>"$SBOX/home/.aws/credentials"
printf '[default]\nendpoint_url = %s\ns3 =\n  addressing_style = path\n' "$RGW_ENDPOINT" >"$SBOX/home/.aws/config"
chmod 600 "$SBOX/home/.aws/"*
box() { (cd "$SBOX" && env -i PATH=/usr/bin:/bin HOME="$SBOX/home" LSAN_OPTIONS="$LSAN_OPTIONS" "$P4REG_BIN" "$@"); }
run 0 box get s3://models/prof m@1 -o srv/m.bin && assert_contains "$OUT" "got m@1"; seen
(cd "$SBOX" && env -i PATH=/usr/bin:/bin HOME="$SBOX/home" AWS_PROFILE=x LSAN_OPTIONS="$LSAN_OPTIONS" \
	"$P4REG_BIN" get s3://models/prof m@1 -o srv/m.bin) >"$ROOT_TMP/out" 2>"$ROOT_TMP/err"
code=$?; [ "$code" -eq 1 ] || fail "get with a missing profile: exit $code"
ERR=$(cat "$ROOT_TMP/err"); OUT=""
assert_one_line_error "no AWS profile 'x' (AWS_PROFILE) in '$SBOX/home/.aws/credentials'"

begin "secrets appear in no output: errors, --json, remote list, config --list"
cd "$R"
p4reg config --local remote.origin.sessionToken "$TOKEN"
for cmd in "remote list" "--json remote list" "config --list" "--json config --list" "remote check"; do
	# shellcheck disable=SC2086
	run 0 p4reg $cmd 2>/dev/null || true
	seen
done
p4reg config --local --unset remote.origin.sessionToken
assert_not_contains "$(cat "$ALL_OUT")" "$S3_SECRET" "the secret key in an output"
assert_not_contains "$(cat "$ALL_OUT")" "$WRONG" "a secret key in an output"
assert_not_contains "$(cat "$ALL_OUT")" "$TOKEN" "the session token in an output"
[ -s "$ALL_OUT" ] || fail "no output was collected"

finish
