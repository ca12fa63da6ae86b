#!/usr/bin/env bash
# End-to-end: what p4reg prints when the text it shows is hostile (issue 11).
# Messages, reasons, actors, paths, URLs and config values with terminal
# escapes, newlines and invalid UTF-8 come out escaped in human output and
# as valid UTF-8 JSON; out-of-range metric values are refused; pkt-line
# lengths are strict; config.local keeps 0600 and credentials are masked.
. "$(dirname "$0")/lib.sh"

# ESC sequences (clear screen, red, a window title), a forged second line,
# a C1 CSI (U+009B), a bidi override and bytes that are not UTF-8.
HOSTILE=$'line1\nfake: registry wiped\033[2J\033[31mRED\033]0;owned\007\xc2\x9b\xe2\x80\xae\xff\xfe'

# no_raw_controls TEXT WHAT: TEXT is printable ASCII, tabs and newlines only
# (the hostile text above escapes to ASCII).
no_raw_controls() {
	local n
	n=$(printf '%s' "$1" | LC_ALL=C grep -caP '[^\x09\x0a\x20-\x7e]')
	[ "$n" = "0" ] || fail "$2: raw control or non-UTF-8 bytes in: $(printf '%s' "$1" | od -c | head -5)"
}
# valid_json TEXT WHAT: TEXT is one JSON document in strict UTF-8.
valid_json() {
	printf '%s' "$1" | python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))' \
		|| fail "$2: not valid UTF-8 JSON"
}
json() { python3 -c "import json,sys; d=json.loads(sys.stdin.buffer.read().decode('utf-8')); print($1)"; }

# A repository with m@1 whose message, author and promotion reason are hostile.
hostile_repo() {
	fresh_repo
	echo weights >m.bin
	P4REG_AUTHOR="eve$HOSTILE" p4reg add -q m.bin -m "$HOSTILE" >/dev/null 2>&1 || fail "add"
	p4reg promote -q m@1 --to validation -m "$HOSTILE" >/dev/null 2>&1 || fail "promote"
}

begin "log, show, history and list escape hostile messages, actors and reasons"
hostile_repo
for cmd in "log m" "show m@1" "history" "history m" "list"; do
	# shellcheck disable=SC2086
	run 0 p4reg $cmd || continue
	no_raw_controls "$OUT" "$cmd"
done
run 0 p4reg log m
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "1" "log: one line per version"
assert_contains "$OUT" 'line1\nfake: registry wiped\x1b[2J\x1b[31mRED\x1b]0;owned\x07\xc2\x9b\xe2\x80\xae\xff\xfe'
run 0 p4reg show m@1
assert_contains "$OUT" 'message:  line1\nfake: registry wiped\x1b[2J'
assert_contains "$OUT" 'author:   eveline1\nfake'
run 0 p4reg history m
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" "2" "history: one line per event"
assert_contains "$OUT" 'promote'
assert_contains "$OUT" '  line1\nfake: registry wiped'
# The registry keeps the bytes as given; only the display escapes them.
assert_eq "$(db "SELECT hex(message) FROM versions")" "$(printf '%s' "$HOSTILE" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"

begin "legitimate UTF-8 is shown as it is"
fresh_repo
echo w >m.bin
p4reg add -q m.bin -m $'caf\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac' >/dev/null 2>&1 || fail "add"
run 0 p4reg show m@1 && assert_contains "$OUT" $'message:  caf\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac'

begin "JSON output is valid UTF-8 whatever the registry holds"
hostile_repo
for cmd in "log m" "show m@1" "history" "list"; do
	# shellcheck disable=SC2086
	run 0 p4reg --json $cmd || continue
	valid_json "$OUT" "--json $cmd"
done
run 0 p4reg --json show m@1
assert_eq "$(echo "$OUT" | json 'ascii(d["message"])')" "'line1\\nfake: registry wiped\\x1b[2J\\x1b[31mRED\\x1b]0;owned\\x07\\x9b\\u202e\\ufffd\\ufffd'"
assert_eq "$(echo "$OUT" | json 'd["author"].startswith("eveline1\n")')" "True"
run 0 p4reg --json history m
assert_eq "$(echo "$OUT" | json 'd["events"][1]["reason"].endswith("\ufffd\ufffd")')" "True"

begin "an error quoting hostile text stays one escaped line"
hostile_repo
run 1 p4reg show "x$HOSTILE"
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "error lines"
no_raw_controls "$ERR" "error"
assert_contains "$ERR" "p4reg: unknown reference 'xline1\\nfake: registry wiped\\x1b[2J"
run 1 p4reg --json show "x$HOSTILE"
valid_json "$OUT" "JSON error"
assert_eq "$(echo "$OUT" | json 'd["error"]["code"]')" "not_found"
assert_contains "$(echo "$OUT" | json 'ascii(d["error"]["message"])')" '\ufffd\ufffd'
# Notes and warnings escape their whole line too (here: a hostile .gitignore-less path).
run 2 p4reg log-metric m@1 "f1=$HOSTILE"
assert_eq "$(printf '%s\n' "$ERR" | grep -c '^p4reg: ')" "1"
no_raw_controls "$(printf '%s\n' "$ERR" | head -1)" "log-metric error"

begin "a hostile URL in the committed config is escaped by remote list"
fresh_repo
printf '[remote "evil"]\n\turl = "/tmp/x\033[2J\\nfake"\n' >>.p4reg/config
run 0 p4reg remote list
no_raw_controls "$OUT" "remote list"
assert_contains "$OUT" 'evil	/tmp/x\x1b[2J\nfake'
run 0 p4reg --json remote list && valid_json "$OUT" "remote list --json"

begin "metric values no double holds are refused, in arguments, files and gates"
fresh_repo
echo w >m.bin
p4reg add -q m.bin >/dev/null 2>&1 || fail "add"
echo '{"f1": 1e-400}' >under.json
echo '{"metrics": {"f1": 0.5}, "params": {"lr": 1e-400}}' >param.json
before=$(snapshot)
for v in 1e-400 -1e-400 2e-324 1e400 -1e309 nan inf 0x1p-3 1e-400x; do
	run 2 p4reg log-metric m@1 "f1=$v" || continue
	assert_one_line_error "invalid metric 'f1=$v': value '$v' is"
done
run 2 p4reg log-metric m@1 f1=1e-400
assert_one_line_error "value '1e-400' is out of range: it is not 0 but rounds to 0 (the smallest magnitude is 4.9e-324)"
run 2 p4reg log-metric m@1 f1=1e400
assert_one_line_error "value '1e400' is out of range: the largest magnitude is 1.7976931348623157e308"
run 2 p4reg log-metric m@1 --file under.json && assert_one_line_error "'under.json': '1e-400' is out of range"
run 2 p4reg log-metric m@1 --file param.json && assert_one_line_error "'1e-400' is out of range"
run 2 p4reg promote m@1 --to validation --require 'f1>=1e-400'
assert_one_line_error "invalid gate 'f1>=1e-400': '1e-400' is out of range"
run 2 p4reg promote m@1 --to validation --require 'f1>=1e999'
assert_eq "$(db 'SELECT count(*) FROM metrics')" "0"
assert_eq "$(snapshot)" "$before" "a refused value changed something"
# Subnormals are doubles: kept. Zero written with a huge exponent is zero.
run 0 p4reg log-metric m@1 f1=1e-310 zero=0e-400
assert_eq "$(db "SELECT key, value > 0 AND value < 2.3e-308 FROM metrics ORDER BY key")" "f1|1
zero|0"

begin "pkt-line lengths are exactly four hex digits"
cd "$ROOT_TMP" || exit 1
for hdr in '+00a' ' 00a' '0x0a' '-001' '00a ' 'zzzz'; do
	printf '%sversion=2\n' "$hdr" >pkt.in
	run 1 p4reg filter-process <pkt.in || continue
	assert_one_line_error "malformed packet length '$hdr' from git: expected four hex digits"
done
for hdr in 0003 fff1 ffff; do
	printf '%s' "$hdr" >pkt.in
	run 1 p4reg filter-process <pkt.in || continue
	assert_one_line_error "bad packet length"
done
printf '0001' >pkt.in
run 1 p4reg filter-process <pkt.in && assert_one_line_error "unexpected packet '0001'"

begin "config.local is created 0600 and a rewrite keeps the user's mode"
fresh_repo
umask 022
assert_no_file .p4reg/config.local
run 0 p4reg config --local remote.s3.secretAccessKey S3CR3T
assert_eq "$(stat -c %a .p4reg/config.local)" "600"
chmod 640 .p4reg/config.local
run 0 p4reg config --local remote.s3.sessionToken T0K3N
assert_eq "$(stat -c %a .p4reg/config.local)" "640"
run 0 p4reg config --local --unset remote.s3.sessionToken
assert_eq "$(stat -c %a .p4reg/config.local)" "640"
assert_no_file .p4reg/config.local.lock
run 0 p4reg config --local hooks.post-rollback true
assert_eq "$(stat -c %a .p4reg/config.local)" "640"
# A symlinked config.local is refused, never followed.
rm .p4reg/config.local
ln -s "$ROOT_TMP/elsewhere" .p4reg/config.local
run 3 p4reg config --local remote.s3.secretAccessKey S3CR3T
assert_one_line_error "is a symbolic link"
assert_no_file "$ROOT_TMP/elsewhere"
rm .p4reg/config.local

begin "config masks credentials unless --show-secrets and refuses them in the committed file"
fresh_repo
run 0 p4reg config --local remote.s3.secretAccessKey S3CR3T
run 0 p4reg config --local remote.s3.sessionToken T0K3N
run 0 p4reg config remote.s3.url s3://bucket/prefix
run 0 p4reg config --list
assert_not_contains "$OUT" "S3CR3T" && assert_not_contains "$OUT" "T0K3N"
assert_contains "$OUT" "remote.s3.secretaccesskey=****"
assert_contains "$OUT" "remote.s3.sessiontoken=****"
assert_contains "$OUT" "remote.s3.url=s3://bucket/prefix"
run 0 p4reg --json config --list
assert_not_contains "$OUT" "S3CR3T"
assert_eq "$(echo "$OUT" | json 'd["remote.s3.secretaccesskey"]')" "****"
run 0 p4reg config remote.s3.secretAccessKey && assert_eq "$OUT" "****"
run 0 p4reg --json config remote.s3.sessionToken && assert_eq "$(echo "$OUT" | json 'd["value"]')" "****"
run 0 p4reg --json config --local remote.s3.sessionToken T0K3N2 && assert_not_contains "$OUT" "T0K3N2"
run 0 p4reg config --show-secrets remote.s3.secretAccessKey && assert_eq "$OUT" "S3CR3T"
run 0 p4reg config --show-secrets --list && assert_contains "$OUT" "remote.s3.secretaccesskey=S3CR3T"
committed=$(sha .p4reg/config)
for key in remote.s3.secretAccessKey remote.s3.sessionToken remote.s3.accessKeyId other.password; do
	run 2 p4reg config "$key" VALUE || continue
	assert_one_line_error "refusing to store credential '$key' in the committed .p4reg/config: use 'p4reg config --local $key VALUE'"
done
assert_eq "$(sha .p4reg/config)" "$committed" "a refused credential changed .p4reg/config"
# A hostile value in the committed config is escaped, not printed raw.
printf '[x]\n\tnote = "a\033[2Jb\\nc"\n' >>.p4reg/config
run 0 p4reg config x.note && assert_eq "$OUT" 'a\x1b[2Jb\nc'

finish
