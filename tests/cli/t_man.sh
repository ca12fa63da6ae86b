#!/usr/bin/env bash
# The man pages (docs/man/*.scd, issue 17) stay in step with the binary:
# every command of the table has its page p4reg-COMMAND(1) and p4reg(1)
# lists it; no page names a command that is gone; each page's NAME line
# is the command's summary; the options of a page's OPTIONS section are
# exactly those `p4reg --json help COMMAND` lists (long and short forms
# and the value's name), p4reg(1)'s exactly the global options; and those
# option lines of --help are exactly the option table the command parses
# with (the `static const p4r_option options[]` of src/cmd/). Nothing is
# listed here by hand: a new command or option fails this test until its
# page says so. With scdoc installed, CMake built a page from each source
# (P4REG_MAN_BUILT is that folder).
. "$(dirname "$0")/lib.sh"

MAN_SRC=$P4REG_SRC/docs/man
CHECK=$ROOT_TMP/check_man.py
cat >"$CHECK" <<'PY'
import json, os, re, subprocess, sys

bin_, src, man, what = sys.argv[1:5]

def p4reg_json(*args):
    out = subprocess.run([bin_, "--json", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)

def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)

def page_text(name):
    path = os.path.join(man, name)
    return open(path, encoding="utf-8").read() if os.path.exists(path) else None

def section(text, title):
    m = re.search(r"^# " + title + r"\n(.*?)(?=^# |\Z)", text, flags=re.M | re.S)
    return m.group(1) if m else ""

def man_options(text):
    """(long, short, value) of each term line of the OPTIONS section: a line
    that starts with '*-' (its body lines are tab-indented)."""
    found = set()
    for line in section(text, "OPTIONS").splitlines():
        if not line.startswith("*-"):
            continue
        forms = [unescape(f) for f in re.findall(r"\*(-[^*]+)\*", line)]
        # the value: what follows the last form, less the underlining
        value = re.sub(r"(?<!\\)[_*]", "", line[line.rindex("*") + 1:]).strip()
        longs = [f for f in forms if f.startswith("--")]
        shorts = [f for f in forms if not f.startswith("--")]
        found.add((longs[0] if longs else None, shorts[0] if shorts else None,
                   unescape(value) or None))
    return found

def help_options(doc):
    return {(o["long"], o["short"], o["value"]) for o in doc["options"]}

def show(o):
    """-r --remote NAME"""
    return " ".join(x for x in (o[1], o[0]) + tuple(o[2:]) if x)

def compare(label, in_man, in_help, problems):
    for o in sorted(in_help - in_man, key=str):
        problems.append("%s: option %s is not in its man page" % (label, show(o)))
    for o in sorted(in_man - in_help, key=str):
        problems.append("%s: the man page has option %s, which --help lacks" % (label, show(o)))

def source_tables():
    """command name -> {(long, short, takes a value)}: the p4r_option table
    inside each cmd_NAME function of src/cmd/*.c and src/main.c, else its
    file's `static const p4r_option options[]`. A function the command
    table names otherwise (report: cmd_report_page) is that command's."""
    tables = {}
    main_text = open(os.path.join(src, "src", "main.c"), encoding="utf-8").read()
    named = {fn: name for name, fn in re.findall(r'\{ "([a-z-]+)", cmd_(\w+), ', main_text)}
    cmd_dir = os.path.join(src, "src", "cmd")
    paths = [os.path.join(cmd_dir, f) for f in sorted(os.listdir(cmd_dir)) if f.endswith(".c")]
    for path in paths + [os.path.join(src, "src", "main.c")]:
        text = open(path, encoding="utf-8").read()
        in_file = re.search(r"^static const p4r_option options\[\] = \{(.*?)\n\};", text, flags=re.M | re.S)
        for fn in re.finditer(r"^(?:static )?int cmd_(\w+)\(p4r_cli \*cli[^)]*\)\n\{(.*?)\n\}", text,
                              flags=re.M | re.S):
            local = re.search(r"p4r_option \w+\[\] = \{(.*?)\};", fn.group(2), flags=re.S)
            table = local or in_file
            rows = set()
            for long_, short, value in re.findall(r"\{ \"([a-z0-9-]+)\", (0|'.'), (true|false),",
                                                  table.group(1) if table else ""):
                rows.add(("--" + long_, None if short == "0" else "-" + short[1], value == "true"))
            tables[named.get(fn.group(1), fn.group(1).replace("_", "-"))] = rows
    return tables

problems = []
top = p4reg_json("help")
names = [c["name"] for c in top["commands"]]
if what == "pages":
    main = page_text("p4reg.1.scd") or ""
    if not main:
        problems.append("no p4reg.1.scd")
    if not page_text("p4reg-formats.5.scd"):
        problems.append("no p4reg-formats.5.scd")
    listed = section(main, "COMMANDS")
    for c in top["commands"]:
        page = "p4reg-%s.1.scd" % c["name"]
        text = page_text(page)
        if text is None:
            problems.append("command '%s' has no man page %s" % (c["name"], page))
            continue
        if not text.startswith("p4reg-%s(1)" % c["name"]):
            problems.append("%s does not start with p4reg-%s(1)" % (page, c["name"]))
        name_line = "p4reg-%s - %s" % (c["name"], c["summary"])
        if name_line not in [unescape(l) for l in section(text, "NAME").splitlines()]:
            problems.append("%s: its NAME line is not '%s'" % (page, name_line))
        if "*p4reg-%s*(1)" % c["name"] not in listed:
            problems.append("p4reg.1.scd does not list p4reg-%s(1) under COMMANDS" % c["name"])
    for f in sorted(os.listdir(man)):
        m = re.fullmatch(r"p4reg-(.+)\.1\.scd", f)
        if m and m.group(1) not in names:
            problems.append("%s is the page of no command" % f)
elif what == "options":
    compare("p4reg", man_options(page_text("p4reg.1.scd") or ""), help_options(top), problems)
    for name in names:
        text = page_text("p4reg-%s.1.scd" % name)
        if text is not None:
            compare(name, man_options(text), help_options(p4reg_json("help", name)), problems)
elif what == "tables":
    tables = source_tables()
    for name in names:
        doc = p4reg_json("help", name)
        in_help = {(o["long"], o["short"], o["value"] is not None) for o in doc["options"]}
        in_table = tables.get(name, set())
        for o in sorted(in_help - in_table, key=str):
            problems.append("%s: --help lists %s, which its option table lacks" % (name, show(o[:2])))
        for o in sorted(in_table - in_help, key=str):
            problems.append("%s: its option table has %s, which --help does not list" % (name, show(o[:2])))
    if sum(len(t) for t in tables.values()) < 40:
        problems.append("only %d options found in src/cmd: did the pattern stop matching?" %
                        sum(len(t) for t in tables.values()))
print("\n".join(problems))
PY

check() {
	local out
	out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$MAN_SRC" "$1") || { fail "the check itself failed: $out"; return; }
	while IFS= read -r line; do
		[ -n "$line" ] && fail "$line"
	done <<<"$out"
}

begin "every command has its man page, named and summarised as in the command table"
check pages

begin "each page's options are the command's option lines (p4reg --json help CMD), p4reg(1)'s the global ones"
check options

begin "each command's option lines (--help) are the option table it parses with"
check tables

begin "the checks see what is missing"
BROKEN=$ROOT_TMP/man
cp -r "$MAN_SRC" "$BROKEN"
rm "$BROKEN/p4reg-gc.1.scd"
cp "$BROKEN/p4reg-list.1.scd" "$BROKEN/p4reg-frobnicate.1.scd"
# promote loses --dry-run; push gains --force; fetch's --skip-batch takes N
python3 - "$BROKEN" <<'PY'
import re, sys
d = sys.argv[1]
def edit(name, fn):
    p = "%s/%s" % (d, name)
    text = fn(open(p).read())
    open(p, "w").write(text)
edit("p4reg-promote.1.scd", lambda t: re.sub(r"\*-n\*, \*--dry-run\*\n\t[^\n]*\n", "", t))
edit("p4reg-push.1.scd", lambda t: t.replace("# OPTIONS\n\n", "# OPTIONS\n\n*--force*\n\tforce it\n\n"))
edit("p4reg-fetch.1.scd", lambda t: t.replace("*--skip-batch* _SEQ_", "*--skip-batch* _N_"))
edit("p4reg.1.scd", lambda t: t.replace("*p4reg-log*(1)\n", "*p4reg-logs*(1)\n").replace("*--json*\n", "*--jason*\n"))
edit("p4reg-status.1.scd", lambda t: t.replace("p4reg-status - show", "p4reg-status - list"))
PY
MAN_SRC=$BROKEN
out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$MAN_SRC" pages)
assert_eq "$out" "p4reg-status.1.scd: its NAME line is not 'p4reg-status - show tracked files: clean, modified, missing'
p4reg.1.scd does not list p4reg-log(1) under COMMANDS
command 'gc' has no man page p4reg-gc.1.scd
p4reg-frobnicate.1.scd is the page of no command"
out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$MAN_SRC" options)
assert_eq "$out" "p4reg: option --json is not in its man page
p4reg: the man page has option --jason, which --help lacks
promote: option -n --dry-run is not in its man page
push: the man page has option --force, which --help lacks
fetch: option --skip-batch SEQ is not in its man page
fetch: the man page has option --skip-batch N, which --help lacks"
SRC_COPY=$ROOT_TMP/src
mkdir -p "$SRC_COPY/src" && cp -r "$P4REG_SRC/src/cmd" "$P4REG_SRC/src/main.c" "$SRC_COPY/src/"
sed -i 's/{ "grace", 0, true, OPT_GRACE },/{ "grace", 0, true, OPT_GRACE },\n\t{ "hidden", 0, false, 99 },/' "$SRC_COPY/src/cmd/gc.c"
sed -i '/{ "here", 0, false, OPT_HERE },/d' "$SRC_COPY/src/cmd/init.c"
out=$(python3 "$CHECK" "$P4REG_BIN" "$SRC_COPY" "$P4REG_SRC/docs/man" tables)
assert_eq "$out" "init: --help lists --here, which its option table lacks
gc: its option table has --hidden, which --help does not list"
MAN_SRC=$P4REG_SRC/docs/man

begin "help --man runs man(1) on p4reg-COMMAND or p4reg; an unknown command or --json is exit 2"
mkdir -p "$ROOT_TMP/fakebin"
printf '#!/bin/sh\necho "man $*"\nexit 5\n' >"$ROOT_TMP/fakebin/man" && chmod +x "$ROOT_TMP/fakebin/man"
run 5 env PATH="$ROOT_TMP/fakebin:$PATH" "$P4REG_BIN" help --man promote && assert_eq "$OUT" "man p4reg-promote"
run 5 env PATH="$ROOT_TMP/fakebin:$PATH" "$P4REG_BIN" help -m && assert_eq "$OUT" "man p4reg"
run 5 env PATH="$ROOT_TMP/fakebin:$PATH" "$P4REG_BIN" help log-metric -m && assert_eq "$OUT" "man p4reg-log-metric"
run 2 env PATH="$ROOT_TMP/fakebin:$PATH" "$P4REG_BIN" help --man promte
assert_eq "$ERR" "p4reg: 'promte' is not a command. did you mean 'promote'?" && assert_eq "$OUT" ""
run 2 env PATH="$ROOT_TMP/fakebin:$PATH" "$P4REG_BIN" --json help --man promote
assert_eq "$OUT" '{"error":{"code":"usage","message":"help --man shows a page: it has no --json form"}}'
run 1 env PATH="$ROOT_TMP/empty" "$P4REG_BIN" help --man promote
assert_one_line_error "p4reg: cannot run man to show 'p4reg-promote': No such file or directory"

begin "scdoc built a page from each source (when installed)"
if [ -n "${P4REG_MAN_BUILT:-}" ]; then
	for src in "$MAN_SRC"/*.scd; do
		page=$(basename "$src" .scd)
		built=$P4REG_MAN_BUILT/$page
		assert_file "$built"
		assert_file "$built.gz"
		name=${page%.*}
		assert_eq "$(grep -m1 '^\.TH' "$built" 2>/dev/null | cut -d' ' -f2-3)" "\"$name\" \"${page##*.}\"" "$page: its .TH line"
		assert_eq "$(gzip -dc "$built.gz" 2>/dev/null | cmp - "$built" && echo same)" "same" "$page.gz"
	done
	if command -v man >/dev/null; then
		run 0 env MANWIDTH=100 man -l "$P4REG_MAN_BUILT/p4reg-promote.1"
		assert_contains "$OUT" "p4reg-promote - move a version along the lifecycle, enforcing gates"
	fi
else
	echo "t_man: scdoc is not installed: the pages were not built, only their sources checked" >&2
fi

finish
