#!/usr/bin/env bash
# A symbolic link planted under an object's final name (another local user
# of a shared store, or anything that can write .p4reg/objects) is taken
# for the object: p4r_store_has() stat()s through the link, so `add`
# answers "already in the store", the object guard's lstat() sees "not a
# regular file" and calls it absent (nothing re-hashed, nothing restored),
# and the version is registered with its bytes only in the link's target
# (outside the store). A hard-link checkout then link(2)s the symbolic link
# itself into the work tree: m.bin becomes a link to the attacker's file.
# Expected (fixed): add stores a real object in place of the link; the work
# tree never gets a symbolic link; fsck is clean.
# usage: P4REG_BIN=build/p4reg bash findings/planted_symlink_object.sh
set -u
: "${P4REG_BIN:?}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config P4REG_AUTHOR="t <t@x>"
mkdir -p "$HOME" "$T/repo" && cd "$T/repo" && "$P4REG_BIN" init >/dev/null
head -c 5000 /dev/urandom >m.bin
oid=$(sha256sum m.bin | cut -c1-64)
obj=.p4reg/objects/${oid:0:2}/${oid:2:2}/$oid
mkdir -p "$(dirname "$obj")"
cp m.bin "$T/attacker"                  # same bytes, the attacker's file
ln -s "$T/attacker" "$obj"
"$P4REG_BIN" add -q m.bin; echo "add: exit $?"
[ -L "$obj" ] && echo "BUG: the object is still a symbolic link to $(readlink "$obj")"
"$P4REG_BIN" fsck >/dev/null 2>&1; echo "fsck: exit $?"
rm m.bin
"$P4REG_BIN" config --local core.cacheType hardlink >/dev/null
"$P4REG_BIN" checkout -q m.bin 2>/dev/null; echo "checkout: exit $?"
[ -L m.bin ] && echo "BUG: the work-tree file is a symbolic link to $(readlink m.bin)"
[ -L "$obj" ] || [ -L m.bin ] || echo "ok: no symbolic link in the store or the work tree"
