#!/usr/bin/env bash
# The trust boundary (issue #11, docs/security.md): an attacker builds a
# repository, commits it, the victim clones it and runs ordinary commands.
# Nothing outside the clone may change, nothing may run, no secret may be
# read; each refusal is one clear line with the documented exit code.
. "$(dirname "$0")/lib.sh"

# The victim's own files outside any repository: a "home" with a secret.
VICTIM=$ROOT_TMP/victim-home
mkdir -p "$VICTIM/.ssh" "$VICTIM/docs"
echo "PRIVATE KEY" >"$VICTIM/.ssh/id_rsa"
echo "precious" >"$VICTIM/docs/thesis.txt"
victim_state() { (cd "$VICTIM" && find . -printf '%p %s %m\n' | sort && cat .ssh/id_rsa docs/thesis.txt) | sha256sum; }
VICTIM_BEFORE=$(victim_state)
assert_victim_untouched() {
	assert_eq "$(victim_state)" "$VICTIM_BEFORE" "files outside the clone"
	[ ! -e "$ROOT_TMP/pwned" ] || fail "the attacker's command ran"
}

# attacker_repo: a git repository with p4reg in it and one committed model
# version (m@1), as an honest history would start; cd into it.
attacker_repo() {
	ATTACKER=$(mktemp -d "$ROOT_TMP/attacker-XXXXXX")
	cd "$ATTACKER" || exit 1
	git init -q . && git config user.name a && git config user.email a@example.com
	p4reg init >/dev/null || fail "init"
	mkdir -p models && printf 'weights v1' >models/m.bin
	p4reg add -q models/m.bin || fail "add"
	git add -A && git commit -qm "model v1"
}

# victim_clone: clones the attacker's repository; cd into it.
victim_clone() {
	VICTIM_REPO=$(mktemp -d "$ROOT_TMP/clone-XXXXXX")
	git clone -q "$ATTACKER" "$VICTIM_REPO" || fail "clone"
	cd "$VICTIM_REPO" || exit 1
	git config user.name v && git config user.email v@example.com
}

begin "a committed .p4reg/tmp symlink: gc deletes nothing outside"
attacker_repo
rm -rf .p4reg/tmp && ln -s "$VICTIM/docs" .p4reg/tmp
git add -f .p4reg/tmp && git commit -qm "tmp"
victim_clone
run 3 p4reg gc
assert_one_line_error "'.p4reg/tmp' is a symbolic link"
assert_contains "$ERR" "remove the link"
run 3 p4reg list
assert_victim_untouched

begin "a committed .p4reg symlink does not relocate the registry and objects"
attacker_repo
mkdir -p "$ROOT_TMP/elsewhere"
mv .p4reg "$ROOT_TMP/elsewhere/state" && ln -s "$ROOT_TMP/elsewhere/state" .p4reg
git add -A && git commit -qm "relocate"
victim_clone
run 3 p4reg status
assert_one_line_error "is a symbolic link or not a folder"
run 3 p4reg add models/m.bin
assert_victim_untouched

begin "a force-added config.local with a post-rollback hook never runs"
attacker_repo
printf '[hooks]\n\tpost-rollback = touch %s/pwned\n' "$ROOT_TMP" >.p4reg/config.local
chmod 600 .p4reg/config.local
p4reg promote -q m@1 --to production --force
printf 'weights v2' >models/m.bin && p4reg add -q models/m.bin && p4reg promote -q m@2 --to production --force
git add -A && git add -f .p4reg/config.local .p4reg/registry.db .p4reg/objects && git commit -qm "hook"
victim_clone
run 3 p4reg rollback m -m "incident"
assert_one_line_error "git tracks '.p4reg/config.local .p4reg/objects .p4reg/registry.db'"
# the repair, followed exactly as printed, leaves nothing trusted behind
repair=${ERR#*run \'}
repair=${repair%%\' there*}
assert_contains "$repair" "git rm -r -q --cached"
eval "$repair" || fail "the repair failed: $repair"
assert_no_file .p4reg/config.local
run 1 p4reg rollback m -m "incident"
assert_one_line_error "unknown model 'm'"
assert_victim_untouched

begin "a repository libgit2 cannot open is still checked (git ls-files)"
A=$(mktemp -d "$ROOT_TMP/sha256-XXXXXX")
git init -q --object-format=sha256 "$A" && cd "$A" && git config user.name a && git config user.email a@e
p4reg init >/dev/null
printf '[hooks]\n\tpost-rollback = touch %s/pwned\n' "$ROOT_TMP" >.p4reg/config.local
chmod 600 .p4reg/config.local
git add -A && git add -f .p4reg/config.local && git commit -qm "hook"
run 3 p4reg list
assert_one_line_error "git tracks '.p4reg/config.local'"
assert_victim_untouched

begin "a git-directory-looking folder committed around .p4reg chooses nothing"
A=$(mktemp -d "$ROOT_TMP/embedded-XXXXXX")
cd "$A" && git init -q . && git config user.name a && git config user.email a@e
mkdir ml && cd ml && git init -q --bare --object-format=sha256 . && git config core.bare false &&
	git config core.worktree . && git config core.fsmonitor "touch $ROOT_TMP/pwned; echo" &&
	touch refs/.keep refs/heads/.keep && mkdir .p4reg && printf '[core]\n' >.p4reg/config &&
	printf '[hooks]\n\tpost-rollback = touch %s/pwned\n' "$ROOT_TMP" >.p4reg/config.local &&
	chmod 600 .p4reg/config.local
cd "$A" && git add -f ml 2>/dev/null && git commit -qm "embedded"
ATTACKER=$A
victim_clone
cd ml
run 3 p4reg status
assert_one_line_error "git tracks '.p4reg/config.local'"
run 3 p4reg config --list
assert_victim_untouched

begin "a link inside the clone to .p4reg or .git is never written through"
fresh_git_repo
mkdir lnk g && printf '[hooks]\n\tpost-rollback = touch %s/pwned\n' "$ROOT_TMP" >lnk/config.local
p4reg add -q --name hook lnk/config.local
printf '../evil' >g/commondir && p4reg add -q --name gd g/commondir
# a later pull turns the folders into links that stay inside the clone
rm -rf lnk g && ln -s .p4reg lnk && ln -s .git g
run 2 p4reg checkout hook@1
assert_one_line_error "'lnk/config.local' is or passes through a symbolic link"
assert_no_file .p4reg/config.local
run 2 p4reg checkout gd@1
assert_no_file .git/commondir
run 0 p4reg checkout
assert_no_file .p4reg/config.local
assert_victim_untouched

begin "config.local that is a symlink, someone else's, or group-writable is refused"
fresh_repo
printf '[hooks]\n\tpost-rollback = touch %s/pwned\n' "$ROOT_TMP" >"$ROOT_TMP/evil.cfg"
ln -s "$ROOT_TMP/evil.cfg" .p4reg/config.local
run 3 p4reg config --list
assert_one_line_error "'.p4reg/config.local' is a symbolic link"
rm .p4reg/config.local && cp "$ROOT_TMP/evil.cfg" .p4reg/config.local && chmod 664 .p4reg/config.local
run 3 p4reg list
assert_one_line_error "is writable by others"
chmod 600 .p4reg/config.local
run 0 p4reg list

begin "git's filter (filter-process) keeps the same trust boundary"
attacker_repo
rm -rf .p4reg/objects && ln -s "$VICTIM/docs" .p4reg/objects
echo '*.bin filter=lfs diff=lfs merge=lfs -text' >.gitattributes
git add -A && git add -f .p4reg/objects && git commit -qm "objects"
victim_clone
git config filter.lfs.process "$P4REG_BIN filter-process" && git config filter.lfs.required true
head -c 300000 /dev/urandom >new.bin
git add new.bin >"$ROOT_TMP/out" 2>&1 && fail "git add through the filter succeeded: $(cat "$ROOT_TMP/out")"
assert_contains "$(cat "$ROOT_TMP/out")" "'.p4reg/objects' is a symbolic link"
assert_victim_untouched

begin "log-metric --file never reads a committed link to the victim's secrets"
printf '{"params": {"token": "PRIVATE"}}' >"$VICTIM/.ssh/token.json"
VICTIM_BEFORE=$(victim_state)
attacker_repo
ln -s "$VICTIM/.ssh/token.json" eval.json
git add eval.json && git commit -qm "eval"
victim_clone
printf 'weights' >w.bin && p4reg add -q w.bin
run 2 p4reg log-metric w@1 --file eval.json
assert_one_line_error "'eval.json' is a symbolic link"
assert_eq "$(db "SELECT count(*) FROM params")" "0" "no param logged"
run 2 p4reg log-metric w@1 --file "$VICTIM_REPO/./sub/../eval.json"
# the user's own file outside the clone is read as it is
printf '{"f1": 0.9}' >"$ROOT_TMP/mine.json"
run 0 p4reg log-metric w@1 --file "$ROOT_TMP/mine.json"
assert_victim_untouched

begin "a committed folder remote cannot aim a push at the victim's own folders"
attacker_repo
git config -f .p4reg/config remote.origin.url "$VICTIM/docs"
git add -A && git commit -qm "remote"
victim_clone
printf 'my weights' >mine.bin && p4reg add -q mine.bin
run 1 p4reg push
assert_one_line_error "remote folder '$VICTIM/docs' holds other files and no p4reg remote"
assert_victim_untouched
# folder names prove nothing: a home with tmp/ and log/ is not a remote
mkdir -p "$VICTIM/tmp" "$VICTIM/log"
VICTIM_BEFORE=$(victim_state)
git config -f .p4reg/config remote.origin.url "$VICTIM"
run 1 p4reg push
assert_one_line_error "remote folder '$VICTIM' holds other files and no p4reg remote"
assert_victim_untouched

begin "the committed config may not include other files (a secret, a FIFO)"
attacker_repo
mkfifo "$ROOT_TMP/fifo.cfg"
printf '[include]\n\tpath = %s\n' "$ROOT_TMP/fifo.cfg" >>.p4reg/config
git add -A && git commit -qm "include"
victim_clone
run 3 timeout 20 "$P4REG_BIN" config --list
assert_one_line_error "has an [include] or [includeIf] section"
run 3 timeout 20 "$P4REG_BIN" add models/m.bin
printf '[IncludeIf "gitdir:/"]\n\tpath = ~/.ssh/id_rsa\n' >.p4reg/config
run 3 p4reg remote list
assert_one_line_error "has an [include] or [includeIf] section"
git checkout -q .p4reg/config && sed -i '/include/,$d' .p4reg/config
run 2 p4reg config include.path /etc/passwd
assert_one_line_error "a shared config may not pull in other files"
assert_victim_untouched

begin "a .p4reg owned by someone else needs the user's safe.directory"
if [ "$(id -u)" = 0 ]; then
	fresh_repo
	chown 12345 .p4reg
	run 3 p4reg list
	assert_one_line_error "is owned by someone else (uid 12345)"
	assert_contains "$ERR" "safe.directory $PWD"
	mkdir -p "$XDG_CONFIG_HOME/p4reg"
	git config --file "$XDG_CONFIG_HOME/p4reg/config" --add safe.directory "$PWD"
	run 0 p4reg list
	rm "$XDG_CONFIG_HOME/p4reg/config"
	chown 0 .p4reg
else
	echo "skip: changing a folder's owner needs root" >&2
fi

begin "a git-tracked registry.db is refused with the repair named"
attacker_repo
git add -f .p4reg/registry.db && git commit -qm "registry"
victim_clone
run 3 p4reg log m
assert_one_line_error "git tracks '.p4reg/registry.db'"
assert_victim_untouched

begin "add never reads or stages a .gitignore that is a symlink to a secret"
attacker_repo
rm models/.gitignore && ln -s "$VICTIM/.ssh/id_rsa" models/.gitignore
git add models/.gitignore && git commit -qm "ignore"
victim_clone
printf 'new weights' >models/n.bin
run 2 p4reg add models/n.bin
assert_one_line_error "'$VICTIM_REPO/models/.gitignore' is a symbolic link"
[ -L models/.gitignore ] || fail "the symlink was replaced"
assert_not_contains "$(git diff --cached)" "PRIVATE KEY"
assert_not_contains "$(git show :models/.gitignore 2>/dev/null; cat models/*.p4reg 2>/dev/null)" "PRIVATE KEY"
assert_eq "$(db "SELECT count(*) FROM versions")" "1" "no version registered"
assert_victim_untouched

begin "track never reads or rewrites a .gitattributes that is a symlink to a secret"
attacker_repo
ln -s "$VICTIM/.ssh/id_rsa" .gitattributes
git add .gitattributes 2>/dev/null && git commit -qm "attributes" 2>/dev/null
victim_clone
run 2 p4reg track '*.onnx'
assert_one_line_error "'$VICTIM_REPO/.gitattributes' is a symbolic link"
[ -L .gitattributes ] || fail "the symlink was replaced"
run 2 p4reg track
assert_victim_untouched

begin "a folder on a model's path replaced by a symlink: checkout and rollback stay inside"
attacker_repo
printf 'weights v2' >models/m.bin && p4reg add -q models/m.bin
p4reg promote -q m@1 --to production --force && p4reg promote -q m@2 --to production --force
# the attacker (or a later git pull) turns models/ into a link to the victim's folder
mv models models.real && ln -s "$VICTIM/docs" models
run 2 p4reg checkout m@1
assert_one_line_error "'models/m.bin' is or passes through a symbolic link"
run 2 p4reg rollback m -m "incident"
assert_one_line_error "passes through a symbolic link"
# a bare checkout finds the pointers where they really are (models.real/)
# and never walks into the link
run 0 p4reg checkout
assert_victim_untouched
[ ! -e "$VICTIM/docs/m.bin" ] || fail "a model was written outside the repository"

begin "a registry path '../x' is refused at use"
fresh_repo
printf 'weights' >m.bin && p4reg add -q m.bin
sqlite3 .p4reg/registry.db "UPDATE models SET path = '../escaped.bin' WHERE name = 'm'"
run 2 p4reg checkout m@1
assert_one_line_error "'../escaped.bin' has an empty, '.' or '..' part"
assert_no_file ../escaped.bin
sqlite3 .p4reg/registry.db "UPDATE models SET path = '/tmp/escaped.bin' WHERE name = 'm'"
run 2 p4reg checkout m@1
assert_no_file /tmp/escaped.bin

begin "add refuses .git/, control characters and names whose pointer cannot exist"
fresh_git_repo
run 2 p4reg add .git/config
assert_one_line_error "path '.git/config' goes through '.git'"
printf 'x' >"$(printf 'evil\nvictim.bin')"
run 2 p4reg add "$(printf 'evil\nvictim.bin')"
assert_one_line_error "has a control character"
assert_eq "$(printf '%s\n' "$ERR" | wc -l)" "1" "bad input is one line, with no usage text after it"
run 2 p4reg add --no-such-option x
assert_contains "$ERR" "usage: p4reg add"
long=$(printf 'a%.0s' $(seq 1 250)).bin
printf 'x' >"$long"
run 2 p4reg add -n longname "$long"
assert_one_line_error "is too long: its pointer"
assert_eq "$(db "SELECT count(*) FROM versions")" "0" "no orphan version"
assert_no_file .gitignore

begin "pointers are cross-checked with the registry"
fresh_repo
printf 'weights' >m.bin && p4reg add -q m.bin
sed -i 's/^version 1$/version 7/' m.bin.p4reg
run 0 p4reg status
assert_contains "$OUT" "unknown-version m.bin"
assert_contains "$ERR" "names m@7, which the registry does not know"
run 1 p4reg checkout m.bin
assert_one_line_error "run 'p4reg fetch'"
sed -i -e 's/^version 7$/version 1/' -e 's/^size 7$/size 999/' m.bin.p4reg
run 4 p4reg status
assert_contains "$OUT" "invalid        m.bin"
run 4 p4reg checkout m.bin
assert_one_line_error "but the registry has"

begin "a FIFO or /dev/zero on a model's path never blocks a command"
fresh_repo
printf 'weights' >m.bin && p4reg add -q m.bin
rm m.bin && mkfifo m.bin
run 0 timeout 20 "$P4REG_BIN" status
assert_contains "$ERR" "is not a regular file"
run 2 timeout 20 "$P4REG_BIN" add m.bin
run 2 timeout 20 "$P4REG_BIN" checkout m.bin
assert_one_line_error "is not a regular file"
rm m.bin && ln -s /dev/zero m.bin
run 0 timeout 20 "$P4REG_BIN" status
assert_contains "$ERR" "m.bin"
run 2 timeout 20 "$P4REG_BIN" add m.bin
assert_one_line_error "is a symbolic link"
mkfifo fifo.bin.p4reg
run 0 timeout 20 "$P4REG_BIN" status

begin "bare checkout of a pointer in a symlinked folder writes nothing outside"
fresh_repo
mkdir sub && printf 'weights' >sub/m.bin && p4reg add -q sub/m.bin
mkdir "$ROOT_TMP/outside" && cp sub/m.bin.p4reg "$ROOT_TMP/outside/" && rm -rf sub
ln -s "$ROOT_TMP/outside" sub
run 0 p4reg checkout
assert_no_file "$ROOT_TMP/outside/m.bin"

finish
