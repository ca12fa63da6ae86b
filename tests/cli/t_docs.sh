#!/usr/bin/env bash
# docs/commands.md documents everything that exists: every command the
# binary lists (`p4reg --json help`: a row in the command table, or a
# section of its own), every option of each (`p4reg --json
# help CMD` and its usage lines), the global options, and every config key
# the source reads or writes. Nothing is listed here by hand: a new
# command, option or key fails this test until the doc names it.
#
# Where a command's options may be documented: its row in the command
# table (`| \`NAME ...`) and the sections whose heading names it
# (`## push, fetch`). An option counts as documented by its long or its
# short form, as a whole token.
#
# Config keys are found in src/ by three patterns (keep new code in one of
# them, or extend this test):
#   A. a literal "section.key" on a line that calls p4r_config_* or passes
#      a config object (`cfg,` / `cfg)`), or in `#define ..._KEY "x.y"`;
#   B. a template "section.%s.key" (stage.%s.require) -> stage.<X>.require;
#   C. "section.%s.%s" filled by a helper: each lowercase literal on a line
#      that calls something with `(cfg, ` in that file -> section.<X>.literal.
# A key is documented when the "config keys" section of commands.md names
# it; a placeholder (NAME, <STAGE>, <key>) stands for the %s part.
. "$(dirname "$0")/lib.sh"

DOC="$P4REG_SRC/docs/commands.md"
CHECK="$ROOT_TMP/check_docs.py"
cat >"$CHECK" <<'PY'
import json, os, re, subprocess, sys

bin_, src, doc_path, what = sys.argv[1:5]
doc = open(doc_path, encoding="utf-8").read()

def p4reg_json(*args):
    out = subprocess.run([bin_, "--json", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out)

def has_token(text, token):
    return re.search(r"(?<![A-Za-z0-9-])" + re.escape(token) + r"(?![A-Za-z0-9-])", text) is not None

def sections():
    """(heading, body) of each '## ' section; the text before the first is ''."""
    parts = re.split(r"^## (.*)$", doc, flags=re.M)
    yield "", parts[0]
    for i in range(1, len(parts), 2):
        yield parts[i].strip(), parts[i + 1]

def table_rows(name):
    return [l for l in doc.splitlines() if re.match(r"\| `" + re.escape(name) + r"[` \[]", l)]

def doc_for(name):
    text = "\n".join(table_rows(name))
    for heading, body in sections():
        if name in [h.strip().strip("`") for h in heading.split(",")]:
            text += "\n" + body
    return text

def usage_options(usage):
    """Options in the synopsis (the lines before the first blank one)."""
    synopsis = usage.split("\n\n")[0]
    return set(re.findall(r"(?<![A-Za-z0-9-])(--?[A-Za-z][A-Za-z0-9-]*)", synopsis.replace("p4reg", "")))

missing = []
top = p4reg_json("help")
if what == "commands":
    headings = [h.strip().strip("`") for heading, _ in sections() for h in heading.split(",")]
    for c in top["commands"]:
        if not table_rows(c["name"]) and c["name"] not in headings:
            missing.append("command '%s' has no row in the command table nor a section" % c["name"])
elif what == "options":
    for o in top["options"]:
        if not any(t and has_token(doc, t) for t in (o["long"], o["short"])):
            missing.append("global option %s" % (o["long"] or o["short"]))
    for c in top["commands"]:
        h = p4reg_json("help", c["name"])
        text = doc_for(c["name"])
        seen = set()
        for o in h["options"]:
            forms = [t for t in (o["long"], o["short"]) if t]
            seen.update(forms)
            if not any(has_token(text, t) for t in forms):
                missing.append("%s: option %s" % (c["name"], " / ".join(forms)))
        for t in sorted(usage_options(h["usage"]) - seen):
            if not has_token(text, t):
                missing.append("%s: option %s (usage line)" % (c["name"], t))
elif what == "keys":
    keys = set()
    files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(src, "src")) for f in fs if f.endswith(".c")]
    for path in files:
        lines = open(path, encoding="utf-8").read().splitlines()
        for l in lines:
            if re.search(r"p4r_config_[a-z_]*\(|\bcfg[,)]|#define [A-Z_]*KEY ", l):
                keys.update(re.findall(r'"([a-z]+\.[A-Za-z][A-Za-z-]*)"', l))
            keys.update(m.replace("%s", "*") for m in re.findall(r'"([a-z]+\.%s\.[A-Za-z][A-Za-z-]*)"', l))
        for sec in set(re.findall(r'"([a-z]+)\.%s\.%s"', "\n".join(lines))):
            for l in lines:
                if "(cfg, " in l:
                    keys.update("%s.*.%s" % (sec, k) for k in re.findall(r'"([a-z][A-Za-z-]*)"', l)
                                if k not in ("true", "false"))
    body = dict(sections()).get("config keys", "")
    for k in sorted(keys):
        pattern = r"(?<![A-Za-z0-9.-])" + r"\.".join(
            r"(?:[A-Z][A-Z_]*|<[^>\s]+>)" if part == "*" else re.escape(part) for part in k.split(".")
        ) + r"(?![A-Za-z0-9-])"
        if not re.search(pattern, body):
            missing.append("config key %s" % k.replace("*", "NAME"))
    if len(keys) < 10:
        missing.append("only %d config keys found in src/: did the patterns stop matching?" % len(keys))
print("\n".join(missing))
PY

check() {
	local out
	out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$DOC" "$1") || { fail "the check itself failed: $out"; return; }
	while IFS= read -r line; do
		[ -n "$line" ] && fail "docs/commands.md lacks $line"
	done <<<"$out"
}

begin "every command has a row in docs/commands.md"
check commands

begin "every option of every command, and every global option, is in docs/commands.md"
check options

begin "every config key the source reads is in the config keys table"
check keys

begin "the checks see what is missing"
sed -e 's/ \[--objects\]//; s/--objects//g' -e 's/--region R//g; s/--region//g' \
	-e '/^| `core.offline`/d' -e '/^| `status`/d' "$DOC" >"$ROOT_TMP/broken.md"
DOC="$ROOT_TMP/broken.md"
out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$DOC" commands)
assert_eq "$out" "command 'status' has no row in the command table nor a section"
out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$DOC" options)
assert_eq "$out" "remote: option --region
fetch: option --objects
get: option --region"
out=$(python3 "$CHECK" "$P4REG_BIN" "$P4REG_SRC" "$DOC" keys)
assert_eq "$out" "config key core.offline"

finish
