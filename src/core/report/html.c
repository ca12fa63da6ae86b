/* The report page (report_html.h): one HTML document with its CSS inline,
 * a chart per metric key as inline SVG, no script and nothing to fetch.
 * Every string from the registry (names, messages, tags, keys, actors,
 * reasons, paths) goes through esc(); numbers and p4reg's own words are
 * written as they are. */
#include "p4reg/report_html.h"
#include "p4reg/error.h"
#include "p4reg/output.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct page {
	FILE *f;
	bool oom;
};

static void put(struct page *p, const char *s)
{
	fputs(s, p->f);
}

static void putf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct page *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

/* S from the registry, as HTML text or inside a quoted attribute. */
static void esc(struct page *p, const char *s)
{
	char *e = p4r_html_escape(s);

	if (!e) {
		p->oom = true;
		return;
	}
	fputs(e, p->f);
	free(e);
}

static void put_time(struct page *p, int64_t ms)
{
	char t[32];

	p4r_format_time(t, sizeof(t), ms);
	putf(p, "<time datetime=\"%s\">%.10s&nbsp;%.5s</time>", t, t, t + 11);
}

/* A metric value exactly (the shortest text that reads back as V). */
static void put_value(struct page *p, double v)
{
	char buf[32];

	p4r_metric_format(buf, sizeof(buf), v);
	put(p, buf);
}

static const char *goal_words(p4r_metric_goal g)
{
	return g == P4R_GOAL_MAX ? "higher is better" : g == P4R_GOAL_MIN ? "lower is better" : "direction unknown";
}

/* ---- the page's frame ---- */

static const char css[] =
	":root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;"
	"--card:#f6f8fa;--accent:#0969da;--prod:#1a7f37;--stg:#9a6700;--bad:#cf222e;--good:#1a7f37}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;"
	"--line:#3d444d;--card:#151b23;--accent:#4493f8;--prod:#3fb950;--stg:#d29922;--bad:#f85149;"
	"--good:#3fb950}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:var(--bg);color:var(--fg);"
	"font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif}\n"
	"header,main,footer{max-width:1240px;margin:0 auto;padding:0 20px}\n"
	"header{padding-top:20px}h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.35em;margin:0 0 8px;"
	"overflow-wrap:anywhere}\n"
	"h3{font-size:1.05em;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}\n"
	"a{color:var(--accent)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
	"font-size:.9em}\n"
	".muted,.note{color:var(--muted)}.note{font-size:.9em;margin:6px 0}\n"
	"nav ul{list-style:none;padding:0;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px}\n"
	"nav li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px 10px}\n"
	"nav li span{color:var(--muted);font-size:.85em;margin-left:6px}\n"
	"section.model{margin:28px 0;padding:20px;border:1px solid var(--line);border-radius:8px}\n"
	".desc{white-space:pre-wrap;margin:0 0 10px;overflow-wrap:anywhere}\n"
	"dl.facts{display:flex;flex-wrap:wrap;gap:8px 28px;margin:8px 0}\n"
	"dl.facts div{min-width:0}dl.facts dt{color:var(--muted);font-size:.8em;text-transform:uppercase;"
	"letter-spacing:.04em}dl.facts dd{margin:0;overflow-wrap:anywhere}\n"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}\n"
	"table{border-collapse:collapse;font-size:.9em;min-width:100%}\n"
	"th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top;"
	"white-space:nowrap}\n"
	"th{background:var(--card);font-weight:600}td.num,th.num{text-align:right;"
	"font-variant-numeric:tabular-nums}\n"
	"td.msg{white-space:pre-wrap;min-width:14em;max-width:34em;overflow-wrap:anywhere}\n"
	"td.wrap{white-space:normal;min-width:12em;max-width:22em;overflow-wrap:anywhere}\n"
	"tr.prod td:first-child{box-shadow:inset 4px 0 var(--prod)}"
	"tr.staging td:first-child{box-shadow:inset 4px 0 var(--stg)}\n"
	".badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:.8em;border:1px solid "
	"var(--line);white-space:nowrap}\n"
	".s-production{background:var(--prod);border-color:var(--prod);color:var(--bg)}\n"
	".s-staging{background:var(--stg);border-color:var(--stg);color:var(--bg)}\n"
	".s-archived{color:var(--muted)}.rb{color:var(--bad);border-color:var(--bad)}\n"
	".good{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}\n"
	".legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.85em;color:var(--muted);margin:4px 0 10px}\n"
	".legend svg{width:14px;height:14px;vertical-align:-2px;margin-right:4px}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px}\n"
	"figure.chart{margin:0;padding:10px;border:1px solid var(--line);border-radius:6px;min-width:0}\n"
	"figure.chart figcaption{font-size:.9em;margin-bottom:4px;overflow-wrap:anywhere}\n"
	"figure.chart svg{display:block;width:100%;height:auto}\n"
	"svg .grid{stroke:var(--line);stroke-width:1}svg .axis{stroke:var(--muted);stroke-width:1}\n"
	"svg text{fill:var(--muted);font:12px system-ui,sans-serif}svg text.val{fill:var(--fg);font-weight:600}\n"
	"svg text.axt{font-size:12px;font-style:italic}\n"
	"svg .line{fill:none;stroke:var(--accent);stroke-width:2}\n"
	"svg .pt{fill:var(--bg);stroke:var(--accent);stroke-width:2}\n"
	"svg .pt.prod{fill:var(--prod);stroke:var(--prod)}svg .pt.stg{fill:var(--stg);stroke:var(--stg)}\n"
	"svg .guide{stroke-width:1.5;stroke-dasharray:4 3}svg .guide.prod{stroke:var(--prod)}"
	"svg .guide.stg{stroke:var(--stg)}\n"
	"svg text.prod{fill:var(--prod);font-weight:600}svg text.stg{fill:var(--stg);font-weight:600}\n"
	"ol.timeline{list-style:none;padding:0;margin:0;border-left:2px solid var(--line)}\n"
	"ol.timeline>li{position:relative;padding:4px 0 12px 18px;overflow-wrap:anywhere}\n"
	"ol.timeline>li::before{content:\"\";position:absolute;left:-7px;top:10px;width:12px;height:12px;"
	"border-radius:50%;background:var(--bg);border:2px solid var(--muted)}\n"
	"ol.timeline>li.to-production::before{background:var(--prod);border-color:var(--prod)}\n"
	"ol.timeline>li.to-staging::before{background:var(--stg);border-color:var(--stg)}\n"
	"ol.timeline>li.k-rollback::before,ol.timeline>li.k-delete::before{background:var(--bad);"
	"border-color:var(--bad)}\n"
	".ev-head{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}\n"
	".ev-kind{font-weight:600}.ev-reason{white-space:pre-wrap;margin:2px 0}\n"
	"ul.gates{list-style:none;padding:0;margin:2px 0;font-size:.9em}\n"
	"ul.gates .pass::before{content:\"\\2713  \";color:var(--good);font-weight:700}\n"
	"ul.gates .fail::before{content:\"\\2717  \";color:var(--bad);font-weight:700}\n"
	"details{margin:12px 0}summary{cursor:pointer;color:var(--muted)}\n"
	"footer{padding:10px 20px 30px;font-size:.85em;color:var(--muted)}\n"
	"@media (max-width:600px){body{font-size:14px}header,main,footer{padding-left:10px;"
	"padding-right:10px}section.model{padding:12px}.charts{grid-template-columns:1fr}"
	"th,td{padding:5px 7px}}\n";

static void page_head(struct page *p, const p4r_report_result *r)
{
	put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       /* nothing may load: no script, image, font, frame or connection */
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n"
	       "<meta name=\"referrer\" content=\"no-referrer\">\n"
	       "<meta name=\"generator\" content=\"p4reg " P4REG_VERSION "\">\n<title>");
	esc(p, r->repo_name);
	put(p, " \xe2\x80\x94 p4reg registry report</title>\n<style>\n");
	put(p, css);
	put(p, "</style>\n</head>\n<body>\n");
}

static void page_header(struct page *p, const p4r_report_result *r)
{
	size_t i;

	put(p, "<header>\n<h1>Model registry <span class=\"muted\">");
	esc(p, r->repo_name);
	put(p, "</span></h1>\n<p class=\"muted\">Generated ");
	put_time(p, r->generated_ms);
	putf(p, " UTC by p4reg " P4REG_VERSION " \xc2\xb7 %zu model%s, %zu version%s shown \xc2\xb7 each model: "
	     "its newest %lld versions (and its production and staging versions) and the last %lld events "
	     "of its stage timeline</p>\n", r->n, r->n == 1 ? "" : "s", r->versions, r->versions == 1 ? "" : "s",
	     (long long)r->limit, (long long)r->limit);
	if (!r->n) {
		put(p, "<p>The registry holds no model yet: <code>p4reg add</code> registers the first "
		       "version.</p>\n</header>\n");
		return;
	}
	put(p, "<nav aria-label=\"models\"><ul>\n");
	for (i = 0; i < r->n; i++) {
		const p4r_model *m = &r->models[i].model;

		put(p, "<li><a href=\"#model-");
		esc(p, m->name);
		put(p, "\">");
		esc(p, m->name);
		put(p, "</a><span>");
		if (m->production)
			putf(p, "production v%lld \xc2\xb7 ", (long long)m->production);
		if (m->staging)
			putf(p, "staging v%lld \xc2\xb7 ", (long long)m->staging);
		putf(p, "%lld version%s</span></li>\n", (long long)m->version_count,
		     m->version_count == 1 ? "" : "s");
	}
	put(p, "</ul></nav>\n</header>\n");
}

/* ---- a model's facts ---- */

static void put_stage(struct page *p, const p4r_version *v)
{
	const char *s = p4r_stage_name(v->stage);

	putf(p, "<span class=\"badge s-%s\">%s</span>", s ? s : "unknown", s ? s : "unknown");
	if (v->rolled_back)
		put(p, " <span class=\"badge rb\">rolled back</span>");
}

/* "production: v3", linked to the version's row; "none" for 0. */
static void version_fact(struct page *p, const char *model, const char *what, int64_t number)
{
	putf(p, "<div><dt>%s</dt><dd>", what);
	if (number > 0) {
		put(p, "<a href=\"#model-");
		esc(p, model);
		putf(p, "-v%lld\">v%lld</a>", (long long)number, (long long)number);
	} else {
		put(p, "<span class=\"muted\">none</span>");
	}
	put(p, "</dd></div>\n");
}

static void facts(struct page *p, const p4r_report_model *rm)
{
	const p4r_model *m = &rm->model;
	size_t i;

	if (m->description && *m->description) {
		put(p, "<p class=\"desc\">");
		esc(p, m->description);
		put(p, "</p>\n");
	}
	put(p, "<dl class=\"facts\">\n<div><dt>path</dt><dd><code>");
	esc(p, m->path);
	put(p, "</code></dd></div>\n");
	version_fact(p, m->name, "production", m->production);
	version_fact(p, m->name, "staging", m->staging);
	version_fact(p, m->name, "latest", m->latest);
	putf(p, "<div><dt>versions</dt><dd>%lld</dd></div>\n", (long long)m->version_count);
	put(p, "<div><dt>registered</dt><dd>");
	put_time(p, m->created_ms);
	put(p, "</dd></div>\n");
	if (rm->naliases) {
		put(p, "<div><dt>aliases</dt><dd>");
		for (i = 0; i < rm->naliases; i++) {
			put(p, i ? ", " : "");
			put(p, "<code>@");
			esc(p, rm->aliases[i].name);
			putf(p, "</code>&nbsp;\xe2\x86\x92&nbsp;v%lld", (long long)rm->aliases[i].version);
		}
		put(p, "</dd></div>\n");
	}
	if (rm->model_tags.n) {
		put(p, "<div><dt>tags</dt><dd>");
		for (i = 0; i < rm->model_tags.n; i++) {
			put(p, i ? ", " : "");
			put(p, "<code>");
			esc(p, rm->model_tags.v[i].key);
			put(p, "=");
			esc(p, rm->model_tags.v[i].value);
			put(p, "</code>");
		}
		put(p, "</dd></div>\n");
	}
	put(p, "</dl>\n");
}

/* ---- production against staging ---- */

static void comparison(struct page *p, const p4r_report_model *rm)
{
	const p4r_model *m = &rm->model;
	size_t i;

	put(p, "<h3>Production vs staging</h3>\n");
	if (!m->production || !m->staging) {
		putf(p, "<p class=\"note\">Nothing to compare: %s.</p>\n",
		     !m->production && !m->staging ? "no version is in production or staging"
		     : !m->production ? "no version is in production" : "no version is in staging");
		return;
	}
	if (!rm->ndeltas) {
		putf(p, "<p class=\"note\">Neither v%lld (production) nor v%lld (staging) has metrics.</p>\n",
		     (long long)m->production, (long long)m->staging);
		return;
	}
	putf(p, "<div class=\"scroll\"><table class=\"compare\">\n<thead><tr><th>metric</th>"
	     "<th class=\"num\">production v%lld</th><th class=\"num\">staging v%lld</th>"
	     "<th class=\"num\">\xce\x94 staging \xe2\x88\x92 production</th><th class=\"num\">change</th>"
	     "<th>goal</th><th>better</th></tr></thead>\n<tbody>\n",
	     (long long)m->production, (long long)m->staging);
	for (i = 0; i < rm->ndeltas; i++) {
		const p4r_report_delta *d = &rm->deltas[i];

		put(p, "<tr><td><code>");
		esc(p, d->key);
		put(p, "</code></td><td class=\"num\">");
		if (d->prod)
			put_value(p, d->prod->value);
		else
			put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
		put(p, "</td><td class=\"num\">");
		if (d->staging)
			put_value(p, d->staging->value);
		else
			put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
		put(p, "</td><td class=\"num\">");
		if (d->prod && d->staging) {
			double delta = d->staging->value - d->prod->value;

			if (isfinite(delta))
				putf(p, "%+.6g", delta);
			else
				put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
			put(p, "</td><td class=\"num\">");
			if (d->prod->value != 0 && isfinite(delta / fabs(d->prod->value)))
				putf(p, "%+.2f%%", 100 * delta / fabs(d->prod->value));
			else
				put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
		} else {
			put(p, "<span class=\"muted\">\xe2\x80\x93</span></td><td class=\"num\">"
			       "<span class=\"muted\">\xe2\x80\x93</span>");
		}
		putf(p, "</td><td>%s</td><td>", goal_words(d->goal));
		if (!d->better)
			put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
		else if (!strcmp(d->better, "staging"))
			put(p, "<span class=\"good\">staging \xe2\x96\xb2</span>");
		else if (!strcmp(d->better, "production"))
			put(p, "<span class=\"bad\">production \xe2\x96\xbc</span>");
		else
			put(p, "equal");
		put(p, "</td></tr>\n");
	}
	put(p, "</tbody></table></div>\n");
}

/* ---- a metric's trend ---- */

#define CW 360.0  /* the chart's viewBox: width, height, plot edges */
#define CH 214.0
#define CL 56.0
#define CR (CW - 16.0)
#define CT 22.0
#define CB (CH - 42.0)
/* The width of one character of the charts' 12-unit text (an estimate
 * that errs wide), and the space kept between two labels. */
#define CHAR_W 7.2
#define LABEL_GAP 6.0
/* Up to this many points, every point gets its value written above it;
 * beyond, the marked ones, the first, the last, the lowest and highest. */
#define CHART_LABEL_ALL 8

struct point {
	double x, y, value;
	const p4r_version *v;
	int mark;  /* 0, 1 production, 2 staging */
	bool labelled; /* its value is written beside it */
};

/* Labels placed so far in one chart: a new one that would overlap one of
 * them is left out (its value stays in the point's tooltip). */
struct boxes {
	double (*box)[4]; /* x0, x1, y0, y1 */
	size_t n, cap;
};

/* Room for the boxes of N points and as many labels; false when out of memory. */
static bool boxes_init(struct page *p, struct boxes *b, size_t n)
{
	b->n = 0;
	b->cap = 2 * n + 8;
	if (!(b->box = calloc(b->cap, sizeof(*b->box))))
		p->oom = true;
	return b->box != NULL;
}

/* The box of TEXT_LEN characters centred at X with its baseline at Y. */
static void box_of(double box[4], double x, double y, size_t text_len)
{
	double w = (double)text_len * CHAR_W / 2 + LABEL_GAP / 2;

	box[0] = x - w;
	box[1] = x + w;
	box[2] = y - 10;
	box[3] = y + 2;
}

/* True when BOX overlaps one of B's (NULL B: none). */
static bool box_hits(const struct boxes *b, const double box[4])
{
	size_t i;

	for (i = 0; b && i < b->n; i++)
		if (box[0] < b->box[i][1] && b->box[i][0] < box[1] && box[2] < b->box[i][3] && b->box[i][2] < box[3])
			return true;
	return false;
}

static void box_add(struct boxes *b, const double box[4])
{
	if (b->n < b->cap)
		memcpy(b->box[b->n++], box, sizeof(b->box[0]));
}

/* Takes the box of TEXT_LEN characters at X, Y unless it overlaps one
 * taken (or there is no room left). */
static bool box_take(struct boxes *b, double x, double y, size_t text_len)
{
	double box[4];

	box_of(box, x, y, text_len);
	if (box_hits(b, box) || b->n == b->cap)
		return false;
	box_add(b, box);
	return true;
}

static void marker(struct page *p, const struct point *pt)
{
	if (pt->mark == 2)
		putf(p, "<path class=\"pt stg\" d=\"M%.1f %.1fl6 6l-6 6l-6-6z\">", pt->x, pt->y - 6);
	else
		putf(p, "<circle class=\"pt%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\">", pt->mark == 1 ? " prod" : "",
		     pt->x, pt->y, pt->mark == 1 ? "6" : "4");
	putf(p, "<title>v%lld%s: ", (long long)pt->v->number,
	     pt->mark == 1 ? " (production)" : pt->mark == 2 ? " (staging)" : "");
	put_value(p, pt->value);
	put(p, pt->mark == 2 ? "</title></path>" : "</title></circle>");
}

/* A dashed line down from the top at the production or staging point,
 * named above it; ANCHOR keeps the two names apart when they are close. */
static void guide(struct page *p, const struct point *pt, const char *anchor)
{
	const char *cls = pt->mark == 1 ? "prod" : "stg";

	putf(p, "<line class=\"guide %s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", cls, pt->x, CT - 6,
	     pt->x, CB);
	putf(p, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>\n", cls, pt->x, CT - 9,
	     anchor, pt->mark == 1 ? "production" : "staging");
}

static void guides(struct page *p, const struct point *pts, size_t n)
{
	const struct point *prod = NULL, *stg = NULL;
	const double half = 5 * CHAR_W; /* half of "production" */
	size_t i;

	for (i = 0; i < n; i++) {
		if (pts[i].mark == 1)
			prod = &pts[i];
		else if (pts[i].mark == 2)
			stg = &pts[i];
	}
	if (prod && stg && fabs(prod->x - stg->x) < 4 * half) {
		/* side by side: each name leans away from the other */
		guide(p, prod, prod->x <= stg->x ? "end" : "start");
		guide(p, stg, prod->x <= stg->x ? "start" : "end");
		return;
	}
	if (prod)
		guide(p, prod, prod->x < CL + half ? "start" : prod->x > CR - half ? "end" : "middle");
	if (stg)
		guide(p, stg, stg->x < CL + half ? "start" : stg->x > CR - half ? "end" : "middle");
}

static void x_label(struct page *p, struct boxes *b, const struct point *pt)
{
	char label[32];

	snprintf(label, sizeof(label), "v%lld", (long long)pt->v->number);
	if (box_take(b, pt->x, CB + 15, strlen(label)))
		putf(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", pt->x, CB + 15, label);
}

static void axes(struct page *p, const p4r_chart_axis *ax, const struct point *pts, size_t n, const char *key)
{
	struct boxes b;
	char label[48];
	size_t i;
	int t;

	if (!boxes_init(p, &b, n))
		return;
	for (t = 0; t < ax->ticks; t++) {
		double v = t + 1 == ax->ticks ? ax->hi : ax->lo + t * ax->step;
		double y = p4r_chart_map(ax, v, CB, CT);

		p4r_chart_tick_label(label, sizeof(label), ax, v);
		putf(p, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", CL, y, CR, y, CL - 6, y + 4, label);
	}
	putf(p, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", CL, CB, CR, CB);
	/* the marked versions and the newest first, then the others as room allows */
	for (i = 0; i < n; i++)
		if (pts[i].mark)
			x_label(p, &b, &pts[i]);
	x_label(p, &b, &pts[n - 1]);
	for (i = 0; i + 1 < n; i++)
		if (!pts[i].mark)
			x_label(p, &b, &pts[i]);
	free(b.box);
	putf(p, "\n<text class=\"axt\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">version</text>", (CL + CR) / 2,
	     CH - 6);
	/* the key along the y axis, cut to what fits */
	putf(p, "<text class=\"axt\" transform=\"rotate(-90)\" x=\"%.1f\" y=\"12\" text-anchor=\"middle\">",
	     -(CT + CB) / 2);
	if (strlen(key) > 24) {
		snprintf(label, sizeof(label), "%.22s", key);
		esc(p, label);
		put(p, "\xe2\x80\xa6");
	} else {
		esc(p, key);
	}
	put(p, "</text>\n");
}

/* The value of PT above it, else below it, where it overlaps no label
 * written (LABELS) and, unless it is one that must show (POINTS NULL), no
 * other point; else nowhere (the tooltip still has it). */
static void value_label(struct page *p, struct boxes *labels, const struct boxes *points, struct point *pt)
{
	const double ys[2] = { pt->y - 10, pt->y + 20 };
	double box[4], x, half;
	char label[32];
	int i;

	if (pt->labelled)
		return;
	snprintf(label, sizeof(label), "%.4g", pt->value);
	/* inside the plot's width: never over the tick labels at its left */
	half = (double)strlen(label) * CHAR_W / 2;
	x = fmin(fmax(pt->x, CL + half), CW - half);
	for (i = 0; i < 2; i++) {
		box_of(box, x, ys[i], strlen(label));
		if (box[2] < CT - 6 || box[3] > CB || box_hits(labels, box) || box_hits(points, box))
			continue;
		box_add(labels, box);
		putf(p, "<text class=\"val\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, ys[i],
		     label);
		pt->labelled = true;
		return;
	}
}

static void values(struct page *p, struct point *pts, size_t n)
{
	size_t i, lo = 0, hi = 0;
	struct boxes labels, points;

	if (!boxes_init(p, &labels, n) || !boxes_init(p, &points, n)) {
		free(labels.box);
		return;
	}
	for (i = 0; i < n; i++) {
		box_take(&points, pts[i].x, pts[i].y + 6, 1);
		lo = pts[i].value < pts[lo].value ? i : lo;
		hi = pts[i].value > pts[hi].value ? i : hi;
	}
	/* production and staging always (over the line if need be), then the
	 * newest, oldest, highest and lowest, then the rest where they fit */
	for (i = 0; i < n; i++)
		if (pts[i].mark)
			value_label(p, &labels, NULL, &pts[i]);
	value_label(p, &labels, &points, &pts[n - 1]);
	value_label(p, &labels, &points, &pts[0]);
	value_label(p, &labels, &points, &pts[hi]);
	value_label(p, &labels, &points, &pts[lo]);
	for (i = 1; i + 1 < n && n <= CHART_LABEL_ALL; i++)
		if (!pts[i].mark)
			value_label(p, &labels, &points, &pts[i]);
	free(labels.box);
	free(points.box);
}

static void chart(struct page *p, const p4r_report_model *rm, size_t k, struct point *pts)
{
	const p4r_metric_table *t = &rm->metrics;
	double lo = INFINITY, hi = -INFINITY;
	p4r_chart_axis ax;
	size_t n = 0, i, r;

	/* oldest first, only the versions that logged the key */
	for (r = rm->n; r-- > 0;) {
		const p4r_metric_cell *c = p4r_metric_table_get(t, r, k);

		if (!c || !isfinite(c->value))
			continue;
		pts[n] = (struct point){ .value = c->value, .v = &rm->versions[r],
					 .mark = (ptrdiff_t)r == rm->prod_row ? 1 : (ptrdiff_t)r == rm->staging_row ? 2 : 0 };
		lo = fmin(lo, c->value);
		hi = fmax(hi, c->value);
		n++;
	}
	if (!n)
		return;
	p4r_chart_axis_make(&ax, lo, hi, 4);
	for (i = 0; i < n; i++) {
		pts[i].x = p4r_chart_slot(i, n, CL + 14, CR - 14);
		pts[i].y = p4r_chart_map(&ax, pts[i].value, CB, CT);
	}
	put(p, "<figure class=\"chart\"><figcaption><code>");
	esc(p, t->keys[k]);
	putf(p, "</code> <span class=\"muted\">\xc2\xb7 %s \xc2\xb7 %zu version%s</span></figcaption>\n",
	     goal_words(rm->goals[k]), n, n == 1 ? "" : "s");
	putf(p, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", CW, CH);
	esc(p, t->keys[k]);
	put(p, " by version\">\n");
	axes(p, &ax, pts, n, t->keys[k]);
	guides(p, pts, n);
	if (n > 1) {
		put(p, "<polyline class=\"line\" points=\"");
		for (i = 0; i < n; i++)
			putf(p, "%s%.1f,%.1f", i ? " " : "", pts[i].x, pts[i].y);
		put(p, "\"/>\n");
	}
	for (i = 0; i < n; i++)
		marker(p, &pts[i]);
	put(p, "\n");
	values(p, pts, n);
	put(p, "</svg></figure>\n");
}

static void legend(struct page *p)
{
	put(p, "<p class=\"legend\">"
	       "<span><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><circle class=\"pt prod\" cx=\"7\" cy=\"7\" "
	       "r=\"5\" style=\"fill:var(--prod);stroke:var(--prod)\"/></svg>production</span>"
	       "<span><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><path d=\"M7 1l6 6l-6 6l-6-6z\" "
	       "style=\"fill:var(--stg)\"/></svg>staging</span>"
	       "<span><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><circle cx=\"7\" cy=\"7\" r=\"4\" "
	       "style=\"fill:var(--bg);stroke:var(--accent);stroke-width:2\"/></svg>other version</span>"
	       "<span>versions in order of their number, evenly spaced; hover a point for its exact value</span>"
	       "</p>\n");
}

static void trends(struct page *p, const p4r_report_model *rm)
{
	struct point *pts;
	size_t k;

	put(p, "<h3>Metric trends</h3>\n");
	if (!rm->metrics.nkeys) {
		put(p, "<p class=\"note\">No metrics logged on the versions shown "
		       "(<code>p4reg log-metric</code> records them).</p>\n");
		return;
	}
	if (!(pts = calloc(rm->n, sizeof(*pts)))) {
		p->oom = true;
		return;
	}
	legend(p);
	put(p, "<div class=\"charts\">\n");
	for (k = 0; k < rm->metrics.nkeys; k++)
		chart(p, rm, k, pts);
	put(p, "</div>\n");
	free(pts);
}

/* ---- tables ---- */

static void metric_values(struct page *p, const p4r_report_model *rm)
{
	const p4r_metric_table *t = &rm->metrics;
	size_t r, k;

	if (!t->nkeys)
		return;
	put(p, "<details open><summary>Metric values by version (the values gates read)</summary>\n"
	       "<div class=\"scroll\"><table class=\"metrics\">\n<thead><tr><th>version</th>");
	for (k = 0; k < t->nkeys; k++) {
		put(p, "<th class=\"num\"><code>");
		esc(p, t->keys[k]);
		put(p, "</code></th>");
	}
	put(p, "</tr></thead>\n<tbody>\n");
	for (r = 0; r < rm->n; r++) {
		const p4r_version *v = &rm->versions[r];

		putf(p, "<tr%s><td>v%lld</td>", (ptrdiff_t)r == rm->prod_row ? " class=\"prod\""
		     : (ptrdiff_t)r == rm->staging_row ? " class=\"staging\"" : "", (long long)v->number);
		for (k = 0; k < t->nkeys; k++) {
			const p4r_metric_cell *c = p4r_metric_table_get(t, r, k);

			put(p, "<td class=\"num\">");
			if (c)
				put_value(p, c->value);
			else
				put(p, "<span class=\"muted\">\xe2\x80\x93</span>");
			put(p, "</td>");
		}
		put(p, "</tr>\n");
	}
	put(p, "</tbody></table></div></details>\n");
}

static void version_tags(struct page *p, const p4r_report_model *rm, const p4r_version *v)
{
	bool any = false;
	size_t i;

	for (i = 0; i < rm->version_tags.n; i++) {
		const p4r_tag_entry *e = &rm->version_tags.v[i];

		if (e->version_id != v->id)
			continue;
		put(p, any ? "<br><code>" : "<code>");
		esc(p, e->key);
		put(p, "=");
		esc(p, e->value);
		put(p, "</code>");
		any = true;
	}
}

static void version_row(struct page *p, const p4r_report_model *rm, size_t r)
{
	const p4r_version *v = &rm->versions[r];
	char size[32], commit[16];
	size_t i;
	bool any = false;

	putf(p, "<tr id=\"model-");
	esc(p, rm->model.name);
	putf(p, "-v%lld\"%s><td class=\"num\"><b>v%lld</b></td><td>", (long long)v->number,
	     (ptrdiff_t)r == rm->prod_row ? " class=\"prod\"" : (ptrdiff_t)r == rm->staging_row ? " class=\"staging\"" : "",
	     (long long)v->number);
	put_stage(p, v);
	put(p, "</td><td>");
	for (i = 0; i < rm->naliases; i++) {
		if (rm->aliases[i].version != v->number)
			continue;
		put(p, any ? " <code>@" : "<code>@");
		esc(p, rm->aliases[i].name);
		put(p, "</code>");
		any = true;
	}
	put(p, "</td><td class=\"wrap\">");
	version_tags(p, rm, v);
	put(p, "</td><td>");
	esc(p, v->author);
	put(p, "</td><td>");
	put_time(p, v->created_ms);
	put(p, "</td><td class=\"msg\">");
	esc(p, v->message);
	p4r_format_size(size, sizeof(size), (uint64_t)(v->kind == P4R_KIND_DIR ? v->tree_size : v->size));
	putf(p, "</td><td class=\"num\">%s", size);
	if (v->kind == P4R_KIND_DIR)
		putf(p, "<br><span class=\"muted\">folder, %lld file%s</span>", (long long)v->files,
		     v->files == 1 ? "" : "s");
	putf(p, "</td><td><code title=\"%s\">%.12s</code>", v->oid.hex, v->oid.hex);
	if (v->git_commit && *v->git_commit) {
		put(p, "<br><span class=\"muted\">git <code>");
		/* a commit id from the registry: foreign text like any */
		snprintf(commit, sizeof(commit), "%.10s", v->git_commit);
		esc(p, commit);
		put(p, "</code></span>");
	}
	put(p, "</td></tr>\n");
}

static void versions(struct page *p, const p4r_report_model *rm)
{
	size_t r;

	put(p, "<h3>Versions</h3>\n");
	if (rm->omitted)
		putf(p, "<p class=\"note\">%lld older version%s not shown: <code>p4reg report -n %lld</code> "
		     "shows every one.</p>\n", (long long)rm->omitted, rm->omitted == 1 ? " is" : "s are",
		     (long long)rm->model.version_count);
	if (!rm->n) {
		put(p, "<p class=\"note\">No live version (every one was deleted).</p>\n");
		return;
	}
	put(p, "<div class=\"scroll\"><table class=\"versions\">\n<thead><tr><th class=\"num\">version</th>"
	       "<th>stage</th><th>aliases</th><th>tags</th><th>author</th><th>registered (UTC)</th>"
	       "<th>message</th><th class=\"num\">size</th><th>object</th></tr></thead>\n<tbody>\n");
	for (r = 0; r < rm->n; r++)
		version_row(p, rm, r);
	put(p, "</tbody></table></div>\n");
	metric_values(p, rm);
}

/* ---- the stage timeline ---- */

static void gates(struct page *p, const cJSON *conds)
{
	const cJSON *c;

	if (!cJSON_IsArray(conds) || !cJSON_GetArraySize(conds))
		return;
	put(p, "<ul class=\"gates\">");
	cJSON_ArrayForEach(c, conds) {
		const cJSON *expr = cJSON_GetObjectItemCaseSensitive(c, "expr");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "op");
		const cJSON *left = cJSON_GetObjectItemCaseSensitive(c, "left");
		const cJSON *right = cJSON_GetObjectItemCaseSensitive(c, "right");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(c, "right_source");
		bool pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "pass"));

		putf(p, "<li class=\"%s\">gate <code>", pass ? "pass" : "fail");
		esc(p, cJSON_IsString(expr) ? expr->valuestring : "?");
		put(p, "</code> ");
		put(p, pass ? "passed" : "failed");
		put(p, ": <span class=\"mono\">");
		if (cJSON_IsNumber(left))
			put_value(p, left->valuedouble);
		else
			put(p, "missing");
		put(p, " ");
		esc(p, cJSON_IsString(op) ? op->valuestring : "?");
		put(p, " ");
		if (cJSON_IsNumber(right))
			put_value(p, right->valuedouble);
		else
			put(p, "missing");
		put(p, "</span>");
		if (cJSON_IsString(src) && cJSON_IsNumber(right) && strchr(src->valuestring, ' ')) {
			put(p, " <span class=\"muted\">(");
			esc(p, src->valuestring);
			put(p, ")</span>");
		}
		put(p, "</li>");
	}
	put(p, "</ul>");
}

/* What an event's detail adds: a promotion's gates, a rollback's pair. */
static void event_detail(struct page *p, const p4r_event *e)
{
	cJSON *d = e->detail ? cJSON_Parse(e->detail) : NULL;
	const cJSON *x;

	if (!d)
		return;
	if (!strcmp(e->kind, "promote")) {
		gates(p, cJSON_GetObjectItemCaseSensitive(d, "conditions"));
		if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(d, "replaced"))) {
			/* the stage is the registry's text, like any other */
			putf(p, "<div class=\"muted\">replaced v%lld in ", (long long)x->valuedouble);
			esc(p, e->to_stage);
			put(p, "</div>");
		}
	} else if (!strcmp(e->kind, "rollback")) {
		if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(d, "restored")))
			putf(p, "<div class=\"muted\">rolled back; v%lld restored</div>", (long long)x->valuedouble);
		if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(d, "rolled_back")))
			putf(p, "<div class=\"muted\">restored in place of v%lld</div>", (long long)x->valuedouble);
	}
	cJSON_Delete(d);
}

static bool stage_word(const char *s)
{
	p4r_stage st;

	return p4r_stage_parse(&st, s) == 0;
}

/* The timeline's kinds are classes; another (a newer p4reg's) is "other". */
static const char *kind_class(const char *kind)
{
	static const char *const known[] = { "promote", "rollback", "hook", "delete" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(kind, known[i]))
			return known[i];
	return "other";
}

static void event_item(struct page *p, const p4r_event *e)
{
	/* stages come from the registry: only known words become classes */
	const char *to = stage_word(e->to_stage) ? e->to_stage : "";

	putf(p, "<li class=\"k-%s%s%s\"><div class=\"ev-head\">", kind_class(e->kind), *to ? " to-" : "", to);
	put_time(p, e->at_ms);
	put(p, "<span class=\"ev-kind\">");
	esc(p, e->kind);
	put(p, "</span>");
	if (e->version > 0)
		putf(p, "<b>v%lld</b>", (long long)e->version);
	if (e->from_stage[0] || e->to_stage[0]) {
		put(p, "<span>");
		esc(p, e->from_stage[0] ? e->from_stage : "\xe2\x80\x93");
		put(p, " \xe2\x86\x92 ");
		esc(p, e->to_stage[0] ? e->to_stage : "\xe2\x80\x93");
		put(p, "</span>");
	}
	if (e->forced)
		put(p, "<span class=\"badge rb\">forced</span>");
	put(p, "<span class=\"muted\">by ");
	esc(p, e->actor);
	put(p, "</span></div>\n");
	if (e->reason && *e->reason) {
		put(p, "<div class=\"ev-reason\">");
		esc(p, e->reason);
		put(p, "</div>");
	}
	event_detail(p, e);
	put(p, "</li>\n");
}

static void timeline(struct page *p, const p4r_report_model *rm)
{
	size_t i;

	put(p, "<h3>Stage timeline</h3>\n");
	if (rm->events_cut) {
		putf(p, "<p class=\"note\">Only the last %zu events are shown: <code>p4reg history ", rm->nevents);
		esc(p, rm->model.name);
		put(p, "</code> lists every one.</p>\n");
	}
	if (!rm->nevents) {
		put(p, "<p class=\"note\">No stage change yet: every version is where <code>p4reg add</code> put "
		       "it.</p>\n");
		return;
	}
	put(p, "<ol class=\"timeline\">\n");
	for (i = 0; i < rm->nevents; i++)
		event_item(p, &rm->events[i]);
	put(p, "</ol>\n");
}

static void model_section(struct page *p, const p4r_report_model *rm)
{
	put(p, "<section class=\"model\" id=\"model-");
	esc(p, rm->model.name);
	put(p, "\">\n<h2>");
	esc(p, rm->model.name);
	put(p, "</h2>\n");
	facts(p, rm);
	comparison(p, rm);
	trends(p, rm);
	versions(p, rm);
	timeline(p, rm);
	put(p, "</section>\n");
}

int p4r_report_html(FILE *f, const p4r_report_result *r)
{
	struct page p = { .f = f };
	size_t i;

	page_head(&p, r);
	page_header(&p, r);
	put(&p, "<main>\n");
	for (i = 0; i < r->n; i++)
		model_section(&p, &r->models[i]);
	put(&p, "</main>\n<footer>Times are UTC. A refused promotion (a gate or rule said no) changes "
		"nothing and leaves no event, so it is not in a timeline; <code>p4reg history</code> lists "
		"every event, <code>p4reg metrics</code> every value. This page loads nothing and runs no "
		"script.</footer>\n</body>\n</html>\n");
	return p.oom ? p4r_error_set(P4R_ERROR, "out of memory") : 0;
}
