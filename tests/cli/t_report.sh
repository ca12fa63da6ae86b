#!/usr/bin/env bash
# End-to-end: p4reg report (issue 17), the registry as one self-contained
# HTML page. A registry with models, versions, metrics, promotions through
# gates, a refused gate, a rollback, a forced move, aliases, tags and
# hostile text is reported; the page is checked as text (every version,
# metric and event, every foreign string escaped, nothing to load), then
# in headless Chromium (Debian's chromium): the DOM it builds, no console
# message, no request made by the page (its net log), and screenshots at
# 1280 and 375 pixels in the light and the dark theme, saved in
# $P4REG_ARTIFACTS/t_report (default: test-output/t_report in the folder
# the test starts in, ctest's build folder). Without chromium it is
# installed (scripts/deps.sh) when running as root; otherwise the browser
# checks are skipped and the test exits 77 after the others. Bad input:
# exit code, one line, nothing written, the registry unchanged.
. "$(dirname "$0")/lib.sh"

ART=${P4REG_ARTIFACTS:-$PWD/test-output}/t_report
mkdir -p "$ART" || { echo "t_report: cannot create $ART" >&2; exit 1; }
ART=$(cd "$ART" && pwd)
CHECK=$ROOT_TMP/check_report.py

export P4REG_AUTHOR='Alice <alice@example.com>'
HOSTILE_WHO='"onload="alert(1) <evil@example.com> & co'
HOSTILE_MSG=$'<script>alert("m")</script>\x1b[31m red \xe2\x80\xae txt.exe'
HOSTILE_REASON='latency <b>spike</b> & "live"'
HOSTILE_TAG='<img src=x onerror=alert(1)>'
HOSTILE_DESC=$'Embedding model</style><script>alert(1)</script>\nsecond line'

# emb@1..5 (f1, latency_ms, loss, eval/recall@5 on v1..v4), tok@1 with a
# hostile author and message, no metrics, and tok@2 deleted.
build_registry() {
	local i
	fresh_repo
	for i in 1 2 3 4 5; do
		random_file models/emb.onnx 4
		p4reg add -q -m "version $i of emb" models/emb.onnx >/dev/null 2>&1 || fail "add emb $i"
	done
	for i in 1 2 3 4; do
		p4reg log-metric -q emb@$i f1=0.8$i latency_ms=$((40 - i)) loss=0.$((5 - i))1 eval/recall@5=0.7$i \
			--time 2026-02-1${i}T09:30:00Z >/dev/null || fail "log-metric emb@$i"
	done
	p4reg promote -q emb@1 --to production --force -m 'first release' >/dev/null || fail "promote 1"
	p4reg promote -q emb@2 --to production --force --require 'f1>=production' -m 'better f1' >/dev/null ||
		fail "promote 2"
	p4reg promote -q emb@3 --to validation >/dev/null || fail "promote 3"
	# refused by its gate: exit 3, and no event (the page cannot show it)
	run 3 p4reg promote emb@3 --to staging --require 'f1>=0.99'
	p4reg promote -q emb@3 --to staging --require 'f1>=0.8' >/dev/null || fail "promote 3 to staging"
	P4REG_AUTHOR="$HOSTILE_WHO" p4reg rollback -q emb --no-checkout -m "$HOSTILE_REASON" >/dev/null ||
		fail "rollback"
	p4reg promote -q emb@4 --to staging --force -m hotfix >/dev/null || fail "promote 4"
	p4reg alias -q emb champion 2 >/dev/null || fail "alias"
	p4reg tag -q emb@2 "note=$HOSTILE_TAG" 'team=search&rank' >/dev/null || fail "tag"
	p4reg tag -q --model emb --description "$HOSTILE_DESC" >/dev/null || fail "describe"
	p4reg tag -q --model emb 'owner=ml&search' >/dev/null || fail "model tag"
	printf 'tok\n' >models/tok.bin
	P4REG_AUTHOR="$HOSTILE_WHO" p4reg add -q -m "$HOSTILE_MSG" models/tok.bin >/dev/null 2>&1 || fail "add tok"
	printf 'tok, broken\n' >models/tok.bin
	p4reg add -q models/tok.bin >/dev/null 2>&1 || fail "add tok 2"
	p4reg rm -q tok@2 -m 'broken build' >/dev/null || fail "rm tok@2"
}

cat >"$CHECK" <<'PY'
"""Checks of a report page: python3 check_report.py WHAT PAGE [ARGS]."""
import html.parser, json, re, struct, subprocess, sys, zlib

what, page = sys.argv[1], sys.argv[2]
problems = []

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.ids, self.stack, self.text = [], set(), [], []
        self.by_class = {}   # class word -> [text of the element]
        self.open = []       # [(tag, classes, chunks)]
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if tag not in ("br", "meta", "line", "circle", "path", "polyline", "input", "img", "link"):
            self.open.append((tag, (a.get("class") or "").split(), []))
    def handle_endtag(self, tag):
        while self.open:
            t, classes, chunks = self.open.pop()
            text = "".join(chunks)
            for c in classes:
                self.by_class.setdefault(c, []).append(text)
            if self.open:
                self.open[-1][2].append(text)
            if t == tag:
                break
    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
    def handle_data(self, data):
        self.text.append(data)
        if self.open:
            self.open[-1][2].append(data)

def parse(path):
    d = Dom()
    d.feed(open(path, encoding="utf-8").read())
    d.close()
    return d

def p4reg_json(*args):
    return json.loads(subprocess.run([sys.argv[3], "--json", *args], capture_output=True, text=True,
                                     check=True).stdout)

def check_content(d):
    """Every model, version, metric key (a chart and a column) and stage
    event the registry's own commands list is on the page."""
    models = [m["name"] for m in p4reg_json("list")["models"]]
    charts = nkeys = nevents = 0
    if not models:
        problems.append("no model listed")
    for m in models:
        if "model-" + m not in d.ids:
            problems.append("no section for model %s" % m)
        for v in p4reg_json("log", m)["history"]:
            if "model-%s-v%d" % (m, v["version"]) not in d.ids:
                problems.append("%s@%d has no row" % (m, v["version"]))
        keys = p4reg_json("metrics", m)["keys"]
        nkeys += len(keys)
        for k in keys:
            if not any(t == "svg" and a.get("aria-label") == k + " by version" for t, a in d.tags):
                problems.append("%s: no chart for metric %s" % (m, k))
        nevents += len([e for e in p4reg_json("history", m)["events"]
                        if e["kind"] in ("promote", "rollback", "hook", "delete")])
    charts = sum(1 for t, a in d.tags if t == "svg" and (a.get("aria-label") or "").endswith(" by version"))
    if charts != nkeys:
        problems.append("%d charts, %d metric keys" % (charts, nkeys))
    items = sum(1 for t, a in d.tags if t == "li" and re.search(r"\bk-", a.get("class") or ""))
    if items != nevents:
        problems.append("%d timeline items, %d stage events in history" % (items, nevents))

def check_safe(d, raw):
    """Nothing on the page can run or load anything."""
    for t, a in d.tags:
        if t in ("script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video",
                 "source", "track", "image", "use", "foreignobject"):
            problems.append("element <%s> on the page" % t)
        for k, v in a.items():
            if k.startswith("on"):
                problems.append("event handler attribute %s=%r" % (k, v))
            if k in ("src", "srcset", "xlink:href", "action", "formaction", "data", "poster"):
                problems.append("loading attribute %s=%r on <%s>" % (k, v, t))
            if k == "href" and not (v or "").startswith("#"):
                problems.append("link outside the page: %r" % v)
            if k == "style" and "url(" in (v or ""):
                problems.append("url() in a style attribute")
    styles = [t for t, a in d.tags if t == "style"]
    if len(styles) != 1:
        problems.append("%d <style> elements" % len(styles))
    for bad in ("http://", "https://", "//cdn", "url(", "@import", "@font-face", "<script", "javascript:"):
        if bad in raw.lower():
            problems.append("the page holds %r" % bad)
    if "default-src 'none'" not in raw:
        problems.append("no Content-Security-Policy forbidding loads")

def check_hostile(d, raw, who, msg, reason, tag, desc):
    """The hostile strings are on the page as text, and only as text."""
    text = "".join(d.text)
    shown_msg = msg.replace("\x1b", "\\x1b").replace("\u202e", "\\xe2\\x80\\xae")
    for label, s in (("author", who), ("message", shown_msg), ("reason", reason), ("tag", tag),
                     ("description", desc)):
        if s not in text:
            problems.append("the %s is not on the page as text: %r" % (label, s))
    if "\x1b" in raw or "\u202e" in raw:
        problems.append("a control character or bidi override is on the page raw")

def png_size_and_corner(path):
    """(width, height, (r, g, b) of the top-left pixel) of an 8-bit PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompressobj().decompress(idat, 1 + 4 * w)
    bpp = {2: 3, 6: 4}[ctype]
    return w, h, tuple(raw[1:1 + bpp][:3])  # the first row's filter leaves pixel 0 as is (none/sub/up of 0)

if what == "static":
    raw = open(page, encoding="utf-8").read()
    d = parse(page)
    check_content(d)
    check_safe(d, raw)
    check_hostile(d, raw, *sys.argv[4:9])
elif what == "dom":
    # the DOM Chromium built (--dump-dom): the same checks as the text
    raw = open(page, encoding="utf-8").read()
    d = parse(page)
    check_content(d)
    check_safe(d, raw)
elif what == "netlog":
    # requests the page made: the ones whose network isolation key is the
    # page's (file://); the browser's own background requests have none
    log = json.load(open(page))
    seen = set()
    for e in log.get("events", []):
        p = e.get("params") or {}
        url = p.get("url", "")
        if url and not url.startswith(("file:", "data:")) and "file://" in str(p.get("network_isolation_key", "")):
            seen.add(url)
    print("\n".join(sorted(seen)))
    sys.exit(0)
elif what == "png":
    w, h, rgb = png_size_and_corner(page)
    print(w, h, *rgb)
    sys.exit(0)
print("\n".join(problems))
PY

check() {
	local out line
	out=$(python3 "$CHECK" "$@") || { fail "the check itself failed: $out"; return; }
	while IFS= read -r line; do
		[ -n "$line" ] && fail "$line"
	done <<<"$out"
}

begin "help and usage"
cd "$ROOT_TMP" || exit 1
run 0 p4reg report --help && assert_contains "$OUT" "usage: p4reg report [-o FILE] [-n N] [MODEL...]"
run 0 p4reg help && assert_contains "$OUT" "report          write the registry as one self-contained HTML page"

begin "the page shows every model, version, metric and stage event, escaped, with nothing to load"
build_registry
REPO=$PWD
assert_eq "$(db "SELECT count(*) FROM events WHERE reason LIKE '%0.99%' OR detail LIKE '%0.99%'")" "0" \
	"the refused promotion left an event"
before=$(snapshot)
run 0 p4reg report -o "$ART/report.html"
assert_eq "$OUT" ""
assert_contains "$ERR" "wrote $ART/report.html: 2 models, 6 versions ("
assert_eq "$(snapshot)" "$before" "report changed the repository"
check static "$ART/report.html" "$P4REG_BIN" "$HOSTILE_WHO" "$HOSTILE_MSG" "$HOSTILE_REASON" "$HOSTILE_TAG" \
	"$HOSTILE_DESC"
page=$(cat "$ART/report.html")
# production v1 (restored) against staging v4, key by key, judged by goal
assert_contains "$page" '<th class="num">production v1</th><th class="num">staging v4</th>'
assert_contains "$page" '<tr><td><code>f1</code></td><td class="num">0.81</td><td class="num">0.84</td><td class="num">+0.03</td><td class="num">+3.70%</td><td>higher is better</td><td><span class="good">staging'
assert_contains "$page" '<tr><td><code>latency_ms</code></td><td class="num">39</td><td class="num">36</td><td class="num">-3</td><td class="num">-7.69%</td><td>lower is better</td><td><span class="good">staging'
assert_contains "$page" '<tr><td><code>eval/recall@5</code></td><td class="num">0.71</td><td class="num">0.74</td>'
# the stage timeline: gates passed, the rollback's reason and pair, a forced move
assert_contains "$page" 'gate <code>f1&gt;=production</code> passed: <span class="mono">0.82 &gt;= 0.81</span> <span class="muted">(production v1)</span>'
assert_contains "$page" 'gate <code>f1&gt;=0.8</code> passed'
assert_not_contains "$page" 'f1&gt;=0.99'
assert_contains "$page" '<div class="ev-reason">latency &lt;b&gt;spike&lt;/b&gt; &amp; &quot;live&quot;</div><div class="muted">rolled back; v1 restored</div>'
assert_contains "$page" '<span class="badge rb">forced</span><span class="muted">by Alice &lt;alice@example.com&gt;</span></div>
<div class="ev-reason">hotfix</div>'
assert_contains "$page" '<span class="badge s-archived">archived</span> <span class="badge rb">rolled back</span></td><td><code>@champion</code></td>'
# a deleted version: in the timeline, not among the versions
assert_contains "$page" '<li class="k-delete to-archived"><div class="ev-head">'
assert_contains "$page" '<span class="ev-kind">delete</span><b>v2</b><span>development → archived</span><span class="muted">by Alice &lt;alice@example.com&gt;</span></div>
<div class="ev-reason">broken build</div></li>'
assert_not_contains "$page" 'id="model-tok-v2"'
# the charts mark production and staging
assert_contains "$page" '<circle class="pt prod"'
assert_contains "$page" '<path class="pt stg"'
assert_contains "$page" '<title>v4 (staging): 0.84</title>'
# --json: the summary document; standard output: the same page
run 0 p4reg --json report -o "$ROOT_TMP/r2.html" emb
assert_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["path"], d["models"], d["versions"], d["limit"], d["bytes"])')" \
	"$ROOT_TMP/r2.html 1 5 50 $(stat -c %s "$ROOT_TMP/r2.html")"
p4reg report >"$ROOT_TMP/stdout.html" 2>"$ROOT_TMP/stdout.err" || fail "report to stdout failed"
assert_eq "$(cat "$ROOT_TMP/stdout.err")" ""
assert_eq "$(grep -v '^<p class="muted">Generated' "$ROOT_TMP/stdout.html" | sha256sum)" \
	"$(grep -v '^<p class="muted">Generated' "$ART/report.html" | sha256sum)" "stdout and -o pages differ"
run 0 p4reg report -o - emb && assert_contains "$OUT" '<section class="model" id="model-emb">'
assert_not_contains "$OUT" 'id="model-tok"'

begin "-n N: the newest N versions, the stage holders, the last N events, said on the page"
cd "$REPO" || exit 1
run 0 p4reg report -n 1 -o "$ROOT_TMP/limited.html" emb
page=$(cat "$ROOT_TMP/limited.html")
for v in 5 4 1; do assert_contains "$page" "id=\"model-emb-v$v\""; done
for v in 2 3; do assert_not_contains "$page" "id=\"model-emb-v$v\""; done
assert_contains "$page" '2 older versions are not shown: <code>p4reg report -n 5</code> shows every one.'
assert_contains "$page" 'Only the last 1 events are shown: <code>p4reg history emb</code> lists every one.'
assert_eq "$(grep -c '<li class="k-' "$ROOT_TMP/limited.html")" "1"
# a model named twice is shown once; models in the order named
run 0 p4reg report -o "$ROOT_TMP/order.html" tok emb tok
assert_eq "$(grep -o '<section class="model" id="model-[a-z]*"' "$ROOT_TMP/order.html" | tr '\n' ' ')" \
	'<section class="model" id="model-tok" <section class="model" id="model-emb" '

begin "an empty registry is a page that says so"
fresh_repo
run 0 p4reg report -o r.html
assert_contains "$(cat r.html)" 'The registry holds no model yet'
assert_contains "$ERR" "wrote r.html: 0 models, 0 versions ("

begin "bad input: one line, the exit code, nothing written"
cd "$REPO" || exit 1
mkdir -p "$ROOT_TMP/dest" && mkfifo "$ROOT_TMP/dest/fifo" && mkdir "$ROOT_TMP/dest/dir"
printf 'old page' >"$ROOT_TMP/dest/keep.html"
out_state() { (cd "$ROOT_TMP/dest" && find . -printf '%p %y %s\n' | sort && cat keep.html); }
before=$(snapshot) before_out=$(out_state)
run 1 p4reg report -o "$ROOT_TMP/dest/keep.html" emd && assert_one_line_error "unknown model 'emd'"
assert_contains "$ERR" "hint: did you mean 'emb'?"
run 1 p4reg report -o "$ROOT_TMP/dest/keep.html" emb nope
assert_one_line_error "unknown model 'nope'"
run 2 p4reg report emb@2 && assert_one_line_error "report takes a model name, not a version: drop '@2'"
run 2 p4reg report 'b a d' && assert_one_line_error "invalid model name 'b a d'"
run 1 p4reg report -o "$ROOT_TMP/dest/missing/r.html"
assert_one_line_error "folder '$ROOT_TMP/dest/missing' does not exist; create it first"
run 2 p4reg report -o "$ROOT_TMP/dest/dir"
assert_one_line_error "'$ROOT_TMP/dest/dir' is a folder; give the path of the HTML file to write"
run 2 p4reg report -o "$ROOT_TMP/dest/dir/"
assert_one_line_error "'$ROOT_TMP/dest/dir/' names a folder; give the path of the file to write"
run 2 p4reg report -o "$ROOT_TMP/dest/fifo"
assert_one_line_error "'$ROOT_TMP/dest/fifo' is not a regular file (a FIFO, device or socket); refusing to replace it"
run 2 p4reg report -n 0 -o "$ROOT_TMP/dest/keep.html" && assert_one_line_error "invalid -n '0': give a count from 1"
run 2 p4reg report --json && assert_contains "$OUT" '"message":"report --json needs -o FILE: standard output holds the page"'
run 2 p4reg report --pages 3 && assert_contains "$ERR" "p4reg: unknown option '--pages'"
run 2 p4reg report -o && assert_contains "$ERR" "p4reg: option '-o' needs a value"
# a terminal as standard output (script(1) gives it one)
if command -v script >/dev/null; then
	run 2 script -qec "'$P4REG_BIN' report" /dev/null
	assert_contains "$OUT" "p4reg: report writes HTML, not to a terminal: give -o FILE.html or redirect standard output"
	assert_not_contains "$OUT" "<html"
fi
assert_eq "$(snapshot)" "$before" "a refused report changed the repository"
assert_eq "$(out_state)" "$before_out" "a refused report wrote something"

begin "-o replaces a file atomically and a link without following it"
run 0 p4reg report -o "$ROOT_TMP/dest/keep.html" tok
assert_contains "$(cat "$ROOT_TMP/dest/keep.html")" '<section class="model" id="model-tok">'
assert_eq "$(ls -A "$ROOT_TMP/dest" | tr '\n' ' ')" "dir fifo keep.html " "a temporary file was left"
printf 'target' >"$ROOT_TMP/dest/target" && ln -s target "$ROOT_TMP/dest/link.html"
run 0 p4reg report -o "$ROOT_TMP/dest/link.html" tok
assert_eq "$(cat "$ROOT_TMP/dest/target")" "target" "the link's target was written"
[ -f "$ROOT_TMP/dest/link.html" ] && [ ! -L "$ROOT_TMP/dest/link.html" ] || fail "the link was not replaced"
assert_eq "$(stat -c %a "$ROOT_TMP/dest/link.html")" "644"

# ---- in a browser ----

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] && [ "$(id -u)" -eq 0 ]; then
	echo "t_report: installing chromium for the browser checks (scripts/deps.sh)" >&2
	# shellcheck source=../../scripts/deps.sh
	(. "$P4REG_SRC/scripts/deps.sh" && p4reg_install_deps chromium) >&2 || true
	CHROMIUM=$(command -v chromium || true)
fi
if [ -z "$CHROMIUM" ]; then
	echo "t_report: chromium is not installed and cannot be (not root): the browser checks are skipped;" \
		"as root: apt-get install chromium" >&2
	finish || exit 1
	exit 77
fi

# chrome ARGS...: headless, its own profile, none of its background
# traffic, no DNS at all (every host name fails to resolve).
chrome() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$ROOT_TMP/chrome-profile" --disable-background-networking --disable-component-update \
		--disable-sync --disable-default-apps --disable-extensions --host-resolver-rules='MAP * ~NOTFOUND' \
		"$@"
}
# console ERRFILE: the page's console messages Chromium logged
console() { grep -E ':CONSOLE[:(]' "$1" || true; }

begin "headless Chromium: the DOM, no console message, no request"
cd "$REPO" || exit 1
chrome --enable-logging=stderr --v=0 --log-net-log="$ROOT_TMP/net.json" --dump-dom "file://$ART/report.html" \
	>"$ART/report.dom.html" 2>"$ROOT_TMP/chrome.err" || fail "chromium --dump-dom failed: $(tail -3 "$ROOT_TMP/chrome.err")"
check dom "$ART/report.dom.html" "$P4REG_BIN"
assert_eq "$(console "$ROOT_TMP/chrome.err")" "" "console messages"
assert_eq "$(python3 "$CHECK" netlog "$ROOT_TMP/net.json")" "" "requests made by the page"
# the same checks catch a page that breaks the rules (so their silence means something)
printf '<!DOCTYPE html><html><body><p>x</p><img src="https://example.invalid/x.png"><script>nope()</script></body></html>' \
	>"$ROOT_TMP/bad.html"
chrome --enable-logging=stderr --v=0 --log-net-log="$ROOT_TMP/bad-net.json" --dump-dom "file://$ROOT_TMP/bad.html" \
	>/dev/null 2>"$ROOT_TMP/bad.err"
assert_contains "$(console "$ROOT_TMP/bad.err")" "Uncaught ReferenceError: nope is not defined" "the console check is blind"
assert_eq "$(python3 "$CHECK" netlog "$ROOT_TMP/bad-net.json")" "https://example.invalid/x.png" "the request check is blind"

begin "screenshots at 1280 and 375 pixels, light and dark"
for shot in "1280 900 light" "375 812 light" "1280 900 dark" "375 812 dark"; do
	read -r w h theme <<<"$shot"
	png="$ART/report-$w-$theme.png"
	rm -f "$png"
	extra=()
	[ "$theme" = dark ] && extra=(--blink-settings=preferredColorScheme=0)
	[ "$theme" = light ] && extra=(--blink-settings=preferredColorScheme=1)
	chrome "${extra[@]}" --window-size="$w,$h" --screenshot="$png" "file://$ART/report.html" >/dev/null 2>&1 ||
		fail "chromium --screenshot $w $theme failed"
	read -r pw ph r g b <<<"$(python3 "$CHECK" png "$png" 2>/dev/null)"
	assert_eq "$pw x $ph" "$w x $h" "screenshot size"
	# the page's own background: white in the light theme, #0d1117 in the dark one
	if [ "$theme" = light ]; then
		assert_eq "$r $g $b" "255 255 255" "light background"
	else
		assert_eq "$r $g $b" "13 17 23" "dark background"
	fi
done

finish
