#!/usr/bin/env bash
# Install and package (issue 17): a Release build of this source tree in a
# temporary folder; `cmake --install` puts the binary, the man pages and
# the completion scripts in the standard places; `cpack -G DEB` makes a
# .deb whose control fields are right (Depends names the package of every
# library p4reg uses -- sqlite3, libgit2, libcrypto, cJSON, libcurl -- and
# not cmocka), which apt would install on this machine as it is, and
# whose extracted binary, man pages and bash completion work. A library
# the binary loads with dlopen (not in its DT_NEEDED) is still in Depends:
# cpack is run once more as if the binary linked neither libgit2 nor
# libcurl. Needs root (dpkg) and dpkg-deb, cmake, cpack: else exit 77.
. "$(dirname "$0")/lib.sh"

for tool in dpkg dpkg-deb cpack cmake cc objdump; do
	command -v "$tool" >/dev/null || { echo "t_package: no $tool: skipped" >&2; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "t_package: not root: skipped" >&2; exit 77; }

BUILD=$ROOT_TMP/build
VERSION=$("$P4REG_BIN" --version | sed 's/^p4reg //')
ARCH=$(dpkg --print-architecture)
DEB=$BUILD/p4reg_${VERSION}_$ARCH.deb
COMMANDS=$("$P4REG_BIN" --json help | python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["commands"]))')
HAVE_SCDOC=$(command -v scdoc >/dev/null && echo 1)

begin "a Release build in a temporary folder"
run 0 cmake -S "$P4REG_SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DP4REG_TESTS=OFF
run 0 cmake --build "$BUILD" -j2 || finish || exit 1

# the installed tree's files, relative to PREFIX, sorted
installed_files() { (cd "$1" && find . -type f -o -type l | sed 's|^\./||' | sort); }

# the files a prefix must hold: the binary, a man page per command, p4reg(1),
# p4reg-formats(5) (with scdoc), the three completion scripts
expected_files() {
	{
		echo bin/p4reg
		if [ -n "$HAVE_SCDOC" ]; then
			echo share/man/man1/p4reg.1.gz
			for c in $COMMANDS; do echo "share/man/man1/p4reg-$c.1.gz"; done
			echo share/man/man5/p4reg-formats.5.gz
		fi
		echo share/bash-completion/completions/p4reg
		echo share/zsh/vendor-completions/_p4reg
		echo share/fish/vendor_completions.d/p4reg.fish
	} | sort
}

begin "cmake --install: binary, man pages and completions in the standard places"
run 0 cmake --install "$BUILD" --prefix "$ROOT_TMP/prefix"
assert_eq "$(installed_files "$ROOT_TMP/prefix")" "$(expected_files)"
run 0 "$ROOT_TMP/prefix/bin/p4reg" completion bash
assert_eq "$OUT" "$(cat "$ROOT_TMP/prefix/share/bash-completion/completions/p4reg")"

begin "cpack -G DEB: the package and its control fields"
(cd "$BUILD" && cpack -G DEB) >"$ROOT_TMP/cpack.log" 2>&1 || fail "cpack failed: $(cat "$ROOT_TMP/cpack.log")"
assert_file "$DEB"
run 0 dpkg-deb -f "$DEB" Package Version Architecture Section
assert_eq "$OUT" "Package: p4reg
Version: $VERSION
Architecture: $ARCH
Section: utils"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
# one entry per library, each a package name, maybe "(>= version)"
for lib in 'libsqlite3-[0-9]' 'libgit2-[0-9.]+' 'libcurl(4|3-gnutls)' 'libssl[0-9.]+' 'libcjson[0-9]+' 'libini-config[0-9]+' 'libc6'; do
	grep -Eq "(^|, )$lib( \\(>= [^)]*\\))?(,|$)" <<<"$DEPENDS" || fail "Depends lacks $lib: $DEPENDS"
done
assert_not_contains "$DEPENDS" "cmocka"
assert_not_contains "$DEPENDS" "asan"
# every library the binary links is in a package Depends names
objdump -p "$BUILD/p4reg" | awk '/NEEDED/ { print $2 }' >"$ROOT_TMP/needed"
while read -r soname; do
	path=$(ldconfig -p | awk -v s="$soname" '$1 == s { print $NF; exit }')
	# dpkg may know the file by the path ldconfig gives or (merged /usr) the real one
	pkg=$({ dpkg-query -S "$path" || dpkg-query -S "$(readlink -f "$path")"; } 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] || { fail "no package owns $soname ($path)"; continue; }
	grep -Eq "(^|, )$pkg( |,|$)" <<<"$DEPENDS" || fail "Depends lacks $pkg (of $soname): $DEPENDS"
done <"$ROOT_TMP/needed"
# apt's simulation resolves Depends against this machine: p4reg alone
# would be installed, every library it needs already is (dpkg --dry-run
# would not check them)
if command -v apt-get >/dev/null; then
	run 0 apt-get -s install "$DEB"
	assert_eq "$(grep -E '^(Inst|Conf) ' <<<"$OUT" | cut -d' ' -f1-2)" "Inst p4reg
Conf p4reg"
fi

begin "the package holds what cmake --install does, under /usr"
dpkg-deb -c "$DEB" | awk '{ print $6 }' | grep -v '/$' | sed 's|^\./usr/||' | sort >"$ROOT_TMP/contents"
assert_eq "$(cat "$ROOT_TMP/contents")" "$(expected_files)"
assert_eq "$(dpkg-deb -c "$DEB" | awk '$6 == "./usr/bin/p4reg" { print $1 }')" "-rwxr-xr-x"

begin "extracted: the binary runs a workflow, its man pages render, its completion completes"
dpkg -x "$DEB" "$ROOT_TMP/root"
P=$ROOT_TMP/root/usr/bin/p4reg
run 0 "$P" --version && assert_eq "$OUT" "p4reg $VERSION"
assert_eq "$(ldd "$P" | grep -c 'not found')" "0" "every library resolves"
mkdir -p "$ROOT_TMP/work" && cd "$ROOT_TMP/work" || exit 1
run 0 "$P" init
random_file m.bin 4
run 0 "$P" add m.bin && assert_contains "$OUT" "as m@1"
run 0 "$P" promote m@1 --to validation
if [ -n "$HAVE_SCDOC" ] && command -v man >/dev/null; then
	run 0 env MANWIDTH=100 man -l "$ROOT_TMP/root/usr/share/man/man1/p4reg-promote.1.gz"
	assert_contains "$OUT" "p4reg-promote - move a version along the lifecycle, enforcing gates"
	run 0 env MANWIDTH=100 man -l "$ROOT_TMP/root/usr/share/man/man5/p4reg-formats.5.gz"
	assert_contains "$OUT" "POINTER FILES"
	run 0 env MANPATH="$ROOT_TMP/root/usr/share/man" MANWIDTH=100 "$P" help --man rollback
	assert_contains "$OUT" "p4reg-rollback - put the previous production version back"
fi
run 0 env PATH="$ROOT_TMP/root/usr/bin:$PATH" bash --norc --noprofile -c '
	. "$1"; COMP_WORDS=(p4reg promote m); COMP_CWORD=2; _p4reg; printf "%s\n" "${COMPREPLY[@]}"' _ \
	"$ROOT_TMP/root/usr/share/bash-completion/completions/p4reg"
assert_eq "$OUT" "m@"
cd "$ROOT_TMP" || exit 1

begin "a library loaded with dlopen (not in DT_NEEDED) is still in Depends"
# cpack as if the binary linked only libc: the package of every library
# p4reg uses is named (unversioned), beside what dpkg-shlibdeps finds
printf 'int main(void) { return 0; }\n' >"$ROOT_TMP/bare.c"
cc -o "$ROOT_TMP/bare" "$ROOT_TMP/bare.c" || fail "cannot build a bare binary"
(cd "$BUILD" && cpack -G DEB -D CPACK_P4REG_BINARY="$ROOT_TMP/bare") >"$ROOT_TMP/cpack2.log" 2>&1 ||
	fail "cpack failed: $(cat "$ROOT_TMP/cpack2.log")"
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for lib in 'libsqlite3-[0-9]' 'libgit2-[0-9.]+' 'libcurl(4|3-gnutls)' 'libssl[0-9.]+' 'libcjson[0-9]+' 'libini-config[0-9]+'; do
	grep -Eq "(^|, )$lib(,|$)" <<<"$DEPENDS" || fail "Depends lacks an unversioned $lib: $DEPENDS"
done

finish
