# A DVC repository as `dvc add` leaves it, written by the import tests
# themselves (no DVC needed): .dvc files, .gitignore lines, and the cache
# by MD5 in DVC 3's files/md5/ layout or DVC 2's older one. Sourced after
# lib.sh.

# commit_as NAME DATE MESSAGE
commit_as() {
	GIT_AUTHOR_NAME=$1 GIT_AUTHOR_EMAIL="$(echo "$1" | tr 'A-Z' 'a-z')@example.com" GIT_AUTHOR_DATE=$2 \
		GIT_COMMITTER_DATE=$2 git commit -qm "$3" || fail "commit '$3' failed"
}

# dvc_put PATH TEXT [LAYOUT]: PATH holds TEXT, its .dvc file names it by
# MD5 (as `dvc add` writes it), the cache holds it (LAYOUT 3: files/md5/,
# 2: the older one, none: not cached). Sets MD5.
dvc_put() {
	local path=$1 layout=${3:-3} dir
	mkdir -p "$(dirname "$path")"
	printf '%s' "$2" >"$path"
	MD5=$(md5sum "$path" | cut -d' ' -f1)
	case $layout in
	3) dir=.dvc/cache/files/md5/${MD5:0:2} ;;
	2) dir=.dvc/cache/${MD5:0:2} ;;
	*) dir= ;;
	esac
	if [ -n "$dir" ]; then mkdir -p "$dir" && cp "$path" "$dir/${MD5:2}"; fi
	if [ "$layout" = 2 ]; then
		printf 'outs:\n- md5: %s\n  path: %s\n' "$MD5" "$(basename "$path")" >"$path.dvc"
	else
		printf 'outs:\n- md5: %s\n  size: %s\n  hash: md5\n  path: %s\n' "$MD5" "$(stat -c %s "$path")" \
			"$(basename "$path")" >"$path.dvc"
	fi
	grep -qx "/$(basename "$path")" "$(dirname "$path")/.gitignore" 2>/dev/null ||
		echo "/$(basename "$path")" >>"$(dirname "$path")/.gitignore"
}

# dvc_repo: a git work tree with p4reg, .dvc/ and two outputs, one per
# cache layout, committed. A, B: their SHA-256.
dvc_repo() {
	fresh_git_repo
	mkdir -p .dvc && printf '[core]\n' >.dvc/config && printf '/cache\n' >.dvc/.gitignore
	dvc_put models/a.bin "weights of a, one"; A=$(sha models/a.bin); AMD5=$MD5
	dvc_put models/b.bin "weights of b" 2; B=$(sha models/b.bin)
	git add .dvc/config .dvc/.gitignore models && commit_as Dee "2024-05-01T10:00:00Z" "dvc add a b"
}

store_object() { echo ".p4reg/objects/${1:0:2}/${1:2:2}/$1"; }

# dvc_dir_put DIR LAYOUT FILE TEXT [FILE TEXT...]: the folder DIR holds each
# FILE with TEXT, its .dvc file names the folder's listing (DVC's .dir JSON,
# sorted by relpath, written as Python's json.dumps writes it), the cache
# holds every file and the listing (LAYOUT 3 or 2). Sets DIRMD5 (the
# listing's MD5, without .dir) and DIRSIZE (the files' total).
dvc_dir_put() {
	local dir=$1 layout=$2 list="" sep="" rel md5 total=0 n=0 cdir
	shift 2
	rm -rf "$dir" && mkdir -p "$dir"
	while [ $# -ge 2 ]; do
		mkdir -p "$(dirname "$dir/$1")" && printf '%s' "$2" >"$dir/$1"
		shift 2
	done
	for rel in $(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); do
		md5=$(md5sum "$dir/$rel" | cut -d' ' -f1)
		list="$list$sep{\"md5\": \"$md5\", \"relpath\": \"$rel\"}"
		sep=", "
		total=$((total + $(stat -c %s "$dir/$rel")))
		n=$((n + 1))
		cdir=.dvc/cache/files/md5/${md5:0:2}
		[ "$layout" = 2 ] && cdir=.dvc/cache/${md5:0:2}
		mkdir -p "$cdir" && cp "$dir/$rel" "$cdir/${md5:2}"
	done
	printf '[%s]' "$list" >"$dir.listing"
	DIRMD5=$(md5sum "$dir.listing" | cut -d' ' -f1)
	DIRSIZE=$total
	cdir=.dvc/cache/files/md5/${DIRMD5:0:2}
	[ "$layout" = 2 ] && cdir=.dvc/cache/${DIRMD5:0:2}
	mkdir -p "$cdir" && mv "$dir.listing" "$cdir/${DIRMD5:2}.dir"
	if [ "$layout" = 2 ]; then
		printf 'outs:\n- md5: %s.dir\n  size: %s\n  nfiles: %s\n  path: %s\n' "$DIRMD5" "$total" "$n" \
			"$(basename "$dir")" >"$dir.dvc"
	else
		printf 'outs:\n- md5: %s.dir\n  size: %s\n  nfiles: %s\n  hash: md5\n  path: %s\n' "$DIRMD5" \
			"$total" "$n" "$(basename "$dir")" >"$dir.dvc"
	fi
	grep -qx "/$(basename "$dir")" "$(dirname "$dir")/.gitignore" 2>/dev/null ||
		echo "/$(basename "$dir")" >>"$(dirname "$dir")/.gitignore"
}
