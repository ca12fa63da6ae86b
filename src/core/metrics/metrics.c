/* Experiment tracking without SQL: what a metric key, value, param, run or
 * experiment name may be, the default run name, times, the JSON files
 * evaluation scripts write, and which way each metric is better. The
 * queries live in registry/metrics_sql.c. */
#include "p4reg/metrics.h"
#include "p4reg/error.h"
#include "p4reg/fsutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

/* ---- names ---- */

static bool key_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '@';
}

/* 1..MAX key characters; isalnum is locale-free here (the C locale). */
static bool name_valid(const char *s, size_t max)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (n >= max || !key_char((unsigned char)s[n]) || (unsigned char)s[n] >= 0x80)
			return false;
	return true;
}

bool p4r_metric_key_valid(const char *key)
{
	return name_valid(key, P4R_METRIC_KEY_MAX);
}

bool p4r_run_name_valid(const char *name)
{
	return name_valid(name, P4R_RUN_NAME_MAX);
}

bool p4r_experiment_valid(const char *name)
{
	return name_valid(name, P4R_EXPERIMENT_MAX);
}

/* Valid UTF-8 (no overlongs, no surrogates) without control characters. */
static bool text_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t need, i;
		unsigned cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
		else return false;
		if ((size_t)(end - p) <= need)
			return false;
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += need + 1;
	}
	return true;
}

int p4r_param_check(const char *key, const char *value)
{
	size_t len;

	if (!p4r_metric_key_valid(key))
		return p4r_error_set(P4R_EUSAGE, "invalid param name '%s': use 1..%d letters, digits "
				     "and '_ . - / @'", key ? key : "", P4R_METRIC_KEY_MAX);
	len = value ? strlen(value) : 0;
	if (!value || len > P4R_PARAM_VALUE_MAX)
		return p4r_error_set(P4R_EUSAGE, "param '%s' is longer than %d bytes", key, P4R_PARAM_VALUE_MAX);
	if (!text_clean(value, len))
		return p4r_error_set(P4R_EUSAGE, "param '%s' has control characters or invalid UTF-8", key);
	return 0;
}

/* ---- values ---- */

/* The smallest magnitude a double holds: 2^-1074, a subnormal. */
#define SUBNORMAL_MIN "4.9e-324"

int p4r_metric_parse_value(double *out, const char *text)
{
	const char *s = text;
	char *end;
	bool digits = false, nonzero = false;
	double v;

	/* Grammar first, so strtod's extras (hex, inf, nan, spaces) never pass. */
	if (!text || strlen(text) > 64)
		goto bad;
	if (*s == '+' || *s == '-')
		s++;
	for (; isdigit((unsigned char)*s); s++) {
		digits = true;
		nonzero |= *s != '0';
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++) {
			digits = true;
			nonzero |= *s != '0';
		}
	}
	if (!digits)
		goto bad;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			goto bad;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s)
		goto bad;
	v = strtod(text, &end);
	if (*end)
		goto bad;
	/* strtod gives ERANGE for subnormals too, which are kept: 1e-310 is a
	 * double (with fewer significant digits). What is refused is a value
	 * that no double holds: too large, or not zero but rounding to zero. */
	if (!isfinite(v))
		return p4r_error_set(P4R_EUSAGE, "'%s' is out of range: the largest magnitude is "
				     "1.7976931348623157e308", text);
	if (v == 0 && nonzero)
		return p4r_error_set(P4R_EUSAGE, "'%s' is out of range: it is not 0 but rounds to 0 "
				     "(the smallest magnitude is " SUBNORMAL_MIN ")", text);
	*out = v;
	return 0;
bad:
	return p4r_error_set(P4R_EUSAGE, "'%s' is not a finite decimal number", text ? text : "");
}

int p4r_metric_parse_pair(char **key, double *value, const char *pair)
{
	const char *eq = strchr(pair, '=');
	size_t klen = eq ? (size_t)(eq - pair) : 0;

	*key = NULL;
	if (!eq)
		return p4r_error_set(P4R_EUSAGE, "invalid metric '%s': expected KEY=VALUE", pair);
	if (!(*key = strndup(pair, klen)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	if (!p4r_metric_key_valid(*key)) {
		free(*key);
		*key = NULL;
		return p4r_error_set(P4R_EUSAGE, "invalid metric '%s': a key is 1..%d letters, digits "
				     "and '_ . - / @'", pair, P4R_METRIC_KEY_MAX);
	}
	if (p4r_metric_parse_value(value, eq + 1) < 0) {
		free(*key);
		*key = NULL;
		return p4r_error_set(P4R_EUSAGE, "invalid metric '%s': value %s", pair, p4r_error_message());
	}
	return 0;
}

/* cJSON reads numbers with strtod and drops its ERANGE: 1e-400 arrives as
 * 0, 1e400 as inf. After cJSON accepted TEXT, each number token (outside
 * strings) is read again with p4r_metric_parse_value's rules. */
int p4r_metric_json_numbers_check(const char *text, size_t len)
{
	char tok[72];
	size_t i = 0, j;
	double v;

	while (i < len) {
		if (text[i] == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (text[i] != '-' && !isdigit((unsigned char)text[i])) {
			i++;
			continue;
		}
		for (j = i; j < len && (isdigit((unsigned char)text[j]) || (text[j] && strchr("+-.eE", text[j]))); j++)
			;
		if (j - i >= sizeof(tok))
			return p4r_error_set(P4R_EUSAGE, "number '%.20s...' is too long", text + i);
		memcpy(tok, text + i, j - i);
		tok[j - i] = '\0';
		if (p4r_metric_parse_value(&v, tok) < 0)
			return P4R_EUSAGE;
		i = j;
	}
	return 0;
}

int p4r_param_parse_pair(char **key, const char **value, const char *pair)
{
	char *copy, *eq;
	int rc;

	*key = NULL;
	*value = NULL;
	if (!strchr(pair, '='))
		return p4r_error_set(P4R_EUSAGE, "invalid param '%s': expected KEY=VALUE", pair);
	if (!(copy = strdup(pair)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	eq = strchr(copy, '=');
	*eq = '\0';
	if ((rc = p4r_param_check(copy, eq + 1)) < 0) {
		free(copy);
		return rc;
	}
	*key = copy;
	*value = eq + 1;
	return 0;
}

/* Writes the decimal digits of N (>= 0) ending at END; returns the start. */
static char *put_digits(char *end, unsigned long long n)
{
	do {
		*--end = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	return end;
}

/* Most metrics have at most six decimals: print those without printf, which
 * dominates a 10,000-version table. Exact: the division is correctly
 * rounded, so the digits read back as V. */
static bool format_fixed(char *buf, size_t bufsz, double v)
{
	char tmp[40], *end = tmp + sizeof(tmp), *p;
	unsigned long long n, ip, fp;
	double r;
	int i;

	if (!(fabs(v) < 1e12) || bufsz < 32)
		return false;
	r = nearbyint(v * 1e6);
	if (r / 1e6 != v)
		return false;
	n = (unsigned long long)fabs(r);
	ip = n / 1000000;
	fp = n % 1000000;
	p = end;
	*--p = '\0';
	if (fp) {
		char frac[6];
		int last = 5;

		for (i = 5; i >= 0; i--, fp /= 10)
			frac[i] = (char)('0' + fp % 10);
		while (frac[last] == '0')
			last--;
		for (i = last; i >= 0; i--)
			*--p = frac[i];
		*--p = '.';
	}
	p = put_digits(p, ip);
	if (r < 0)
		*--p = '-';
	memcpy(buf, p, (size_t)(end - p));
	return true;
}

void p4r_metric_format(char *buf, size_t bufsz, double v)
{
	char *end;

	if (format_fixed(buf, bufsz, v))
		return;
	snprintf(buf, bufsz, "%.15g", v);
	if (strtod(buf, &end) != v)
		snprintf(buf, bufsz, "%.17g", v);
}

/* ---- run names and times ---- */

int p4r_metrics_run_name(char **out, const char *model, const char *experiment,
			 int64_t number, int64_t at_ms)
{
	time_t secs = (time_t)(at_ms / 1000);
	struct tm tm;
	char date[16];
	size_t sz;

	*out = NULL;
	if (!experiment || !*experiment)
		experiment = "default";
	if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof(date), "%Y%m%d", &tm))
		return p4r_error_set(P4R_EUSAGE, "time %lld ms is out of range", (long long)at_ms);
	sz = strlen(date) + strlen(model) + strlen(experiment) + 32;
	if (!(*out = malloc(sz)))
		return p4r_error_set(P4R_ERROR, "out of memory");
	snprintf(*out, sz, "%s_%s_%s_v%lld", date, model, experiment, (long long)number);
	if (!p4r_run_name_valid(*out)) {
		free(*out);
		*out = NULL;
		return p4r_error_set(P4R_EUSAGE, "run name for model '%s' and experiment '%s' is invalid",
				     model, experiment);
	}
	return 0;
}

/* Reads exactly N digits at *P. */
static bool digits_n(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int p4r_metrics_parse_time(int64_t *out_ms, const char *text)
{
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;
	int64_t ms = 0, secs;

	if (!text || strlen(text) > 40)
		goto bad;
	if (!digits_n(&p, 4, &y) || *p++ != '-' || !digits_n(&p, 2, &mo) || *p++ != '-' ||
	    !digits_n(&p, 2, &d))
		goto bad;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		goto bad;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			goto bad;
		p++;
		if (!digits_n(&p, 2, &h) || *p++ != ':' || !digits_n(&p, 2, &mi))
			goto bad;
		if (*p == ':') {
			p++;
			if (!digits_n(&p, 2, &s))
				goto bad;
			if (*p == '.' || *p == ',') {
				int scale = 100, nd = 0;

				for (p++; isdigit((unsigned char)*p); p++, nd++) {
					ms += (*p - '0') * scale;
					scale /= 10;
				}
				if (nd == 0 || nd > 9)
					goto bad;
			}
		}
		if (h > 23 || mi > 59 || s > 59)
			goto bad;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (!digits_n(&p, 2, &oh))
				goto bad;
			if (*p == ':')
				p++;
			if (!digits_n(&p, 2, &om) || oh > 23 || om > 59)
				goto bad;
		} else {
			return p4r_error_set(P4R_EUSAGE, "invalid time '%s': give a time zone, "
					     "e.g. 2026-02-18T09:30:00Z", text);
		}
		if (*p)
			goto bad;
	}
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	secs -= sign * (oh * 3600 + om * 60);
	if (secs < 0)
		goto bad;
	*out_ms = secs * 1000 + ms;
	return 0;
bad:
	return p4r_error_set(P4R_EUSAGE, "invalid time '%s': expected ISO 8601 UTC, "
			     "e.g. 2026-02-18T09:30:00Z", text ? text : "");
}

int p4r_metrics_parse_time_end(int64_t *out_ms, const char *text)
{
	int rc = p4r_metrics_parse_time(out_ms, text);

	/* a date alone: the last millisecond of that day */
	if (rc == 0 && strlen(text) == 10)
		*out_ms += 86400000 - 1;
	return rc;
}

/* ---- JSON files ---- */

struct file_priv {
	cJSON *doc;
	char **owned;        /* converted param values */
	size_t nowned;
};

void p4r_metrics_file_clear(p4r_metrics_file *f)
{
	struct file_priv *priv;
	size_t i;

	if (!f)
		return;
	priv = f->priv;
	if (priv) {
		cJSON_Delete(priv->doc);
		for (i = 0; i < priv->nowned; i++)
			free(priv->owned[i]);
		free(priv->owned);
		free(priv);
	}
	free(f->metrics);
	free(f->params);
	memset(f, 0, sizeof(*f));
}

static int file_metrics(p4r_metrics_file *f, const cJSON *obj, const char *name)
{
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(obj);

	if (n > P4R_METRICS_PER_CALL_MAX)
		return p4r_error_set(P4R_EUSAGE, "'%s' has more than %d metrics", name, P4R_METRICS_PER_CALL_MAX);
	if (n && !(f->metrics = calloc(n, sizeof(*f->metrics))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_ArrayForEach(it, obj) {
		if (!p4r_metric_key_valid(it->string))
			return p4r_error_set(P4R_EUSAGE, "'%s': invalid metric key '%.80s': use 1..%d letters, "
					     "digits and '_ . - / @'", name, it->string, P4R_METRIC_KEY_MAX);
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
			return p4r_error_set(P4R_EUSAGE, "'%s': metric '%s' is not a finite number",
					     name, it->string);
		f->metrics[f->nmetrics].key = it->string;
		f->metrics[f->nmetrics++].value = it->valuedouble;
	}
	return 0;
}

/* Params are text; numbers and booleans in the file become their JSON text. */
static int file_params(p4r_metrics_file *f, const cJSON *obj, const char *name)
{
	struct file_priv *priv = f->priv;
	size_t n = (size_t)cJSON_GetArraySize(obj);
	const cJSON *it;
	int rc;

	if (n > P4R_PARAMS_PER_CALL_MAX)
		return p4r_error_set(P4R_EUSAGE, "'%s' has more than %d params", name, P4R_PARAMS_PER_CALL_MAX);
	if (n && (!(f->params = calloc(n, sizeof(*f->params))) ||
		  !(priv->owned = calloc(n, sizeof(*priv->owned)))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	cJSON_ArrayForEach(it, obj) {
		const char *value;
		char buf[40];

		if (cJSON_IsString(it)) {
			value = it->valuestring;
		} else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
			p4r_metric_format(buf, sizeof(buf), it->valuedouble);
			if (!(priv->owned[priv->nowned] = strdup(buf)))
				return p4r_error_set(P4R_ERROR, "out of memory");
			value = priv->owned[priv->nowned++];
		} else if (cJSON_IsBool(it)) {
			value = cJSON_IsTrue(it) ? "true" : "false";
		} else {
			return p4r_error_set(P4R_EUSAGE, "'%s': param '%.80s' must be a string, number "
					     "or boolean", name, it->string);
		}
		if ((rc = p4r_param_check(it->string, value)) < 0)
			return p4r_error_set(rc, "'%s': %s", name, p4r_error_message());
		f->params[f->nparams].key = it->string;
		f->params[f->nparams++].value = value;
	}
	return 0;
}

static int file_step(p4r_metrics_file *f, const cJSON *it, const char *name)
{
	double v = it->valuedouble;

	if (!cJSON_IsNumber(it) || !(v >= 0 && v <= (double)P4R_STEP_MAX) || v != floor(v))
		return p4r_error_set(P4R_EUSAGE, "'%s': \"step\" must be a whole number from 0 to %lld",
				     name, P4R_STEP_MAX);
	f->has_step = true;
	f->step = (int64_t)v;
	return 0;
}

/* The structured form: {"metrics": {...}, "params": {...}, "step": N}. */
static int file_structured(p4r_metrics_file *f, const cJSON *doc, const char *name)
{
	const cJSON *it;
	bool seen_metrics = false, seen_params = false;
	int rc;

	cJSON_ArrayForEach(it, doc) {
		if (!strcmp(it->string, "metrics")) {
			if (seen_metrics || !cJSON_IsObject(it))
				return p4r_error_set(P4R_EUSAGE, "'%s': \"metrics\" must be one object", name);
			seen_metrics = true;
			if ((rc = file_metrics(f, it, name)) < 0)
				return rc;
		} else if (!strcmp(it->string, "params")) {
			if (seen_params || !cJSON_IsObject(it))
				return p4r_error_set(P4R_EUSAGE, "'%s': \"params\" must be one object", name);
			seen_params = true;
			if ((rc = file_params(f, it, name)) < 0)
				return rc;
		} else if (!strcmp(it->string, "step")) {
			if (f->has_step)
				return p4r_error_set(P4R_EUSAGE, "'%s': \"step\" given twice", name);
			if ((rc = file_step(f, it, name)) < 0)
				return rc;
		} else {
			return p4r_error_set(P4R_EUSAGE, "'%s': unknown key '%.80s' (expected \"metrics\", "
					     "\"params\" and \"step\")", name, it->string);
		}
	}
	return 0;
}

int p4r_metrics_file_parse(p4r_metrics_file *out, const char *text, size_t len, const char *name)
{
	struct file_priv *priv;
	const cJSON *m;
	const char *end = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(priv = calloc(1, sizeof(*priv))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	out->priv = priv;
	if (len > P4R_METRICS_FILE_MAX)
		return p4r_error_set(P4R_EUSAGE, "'%s' is larger than %zu bytes", name, P4R_METRICS_FILE_MAX);
	if (memchr(text, '\0', len))
		return p4r_error_set(P4R_EUSAGE, "'%s' is not JSON: it contains a NUL byte", name);
	priv->doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (priv->doc) {
		/* Trailing text after the document is as malformed as a bad one. */
		while (end && end < text + len && strchr(" \t\r\n", *end))
			end++;
		if (end && end < text + len) {
			cJSON_Delete(priv->doc);
			priv->doc = NULL;
		}
	}
	if (!priv->doc) {
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) :
			    (cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - text) : 0);

		if (at > len)
			at = len;
		return p4r_error_set(P4R_EUSAGE, "'%s' is not valid JSON (near byte %zu)", name, at);
	}
	if (!cJSON_IsObject(priv->doc))
		return p4r_error_set(P4R_EUSAGE, "'%s' must hold a JSON object of metrics", name);
	m = cJSON_GetObjectItemCaseSensitive(priv->doc, "metrics");
	rc = cJSON_IsObject(m) ? file_structured(out, priv->doc, name) : file_metrics(out, priv->doc, name);
	if (rc == 0 && p4r_metric_json_numbers_check(text, len) < 0)
		rc = p4r_error_set(P4R_EUSAGE, "'%s': %s", name, p4r_error_message());
	return rc;
}

int p4r_metrics_file_read(p4r_metrics_file *out, p4r_repo *repo, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!strcmp(path, "-")) {
		path = "standard input";
		rc = p4r_read_fd(&text, &len, STDIN_FILENO, path, P4R_METRICS_FILE_MAX);
	} else {
		/* a file in the work tree may be a link a clone delivered (to a
		 * secret that would be logged as a param and pushed) */
		rc = p4r_repo_read_user_file(repo, path, P4R_METRICS_FILE_MAX, &text, &len);
	}
	if (rc < 0) {
		if (rc == P4R_EUSAGE && strstr(p4r_error_message(), "too large"))
			return p4r_error_set(P4R_EUSAGE, "'%s' is larger than %zu bytes", path,
					     P4R_METRICS_FILE_MAX);
		return rc;
	}
	rc = p4r_metrics_file_parse(out, text, len, path);
	free(text);
	return rc;
}

/* ---- checking a whole call ---- */

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* P4R_EUSAGE naming the first key that appears twice among N keys at KEYS
 * (STRIDE bytes apart, each a const char * at the start). */
static int check_unique(const void *keys, size_t n, size_t stride, const char *what)
{
	const char **sorted;
	size_t i;
	int rc = 0;

	if (n < 2)
		return 0;
	if (!(sorted = malloc(n * sizeof(*sorted))))
		return p4r_error_set(P4R_ERROR, "out of memory");
	for (i = 0; i < n; i++)
		sorted[i] = *(const char *const *)((const char *)keys + i * stride);
	qsort(sorted, n, sizeof(*sorted), cmp_str_ptr);
	for (i = 1; i < n; i++)
		if (!strcmp(sorted[i - 1], sorted[i])) {
			rc = p4r_error_set(P4R_EUSAGE, "%s '%s' given twice", what, sorted[i]);
			break;
		}
	free(sorted);
	return rc;
}

int p4r_metric_log_check(const p4r_metric_log *log)
{
	char v[32];
	size_t i;
	int rc;

	if (!log || !log->version)
		return p4r_error_set(P4R_EUSAGE, "log-metric needs a version");
	if (log->nmetrics == 0 && log->nparams == 0)
		return p4r_error_set(P4R_EUSAGE, "nothing to log: give KEY=VALUE, --param or --file");
	if (log->nmetrics > P4R_METRICS_PER_CALL_MAX || log->nparams > P4R_PARAMS_PER_CALL_MAX)
		return p4r_error_set(P4R_EUSAGE, "too many metrics or params in one call (at most %d and %d)",
				     P4R_METRICS_PER_CALL_MAX, P4R_PARAMS_PER_CALL_MAX);
	if (log->step < 0 || log->step > P4R_STEP_MAX)
		return p4r_error_set(P4R_EUSAGE, "step %lld is out of range 0..%lld",
				     (long long)log->step, P4R_STEP_MAX);
	if (log->at_ms < 0)
		return p4r_error_set(P4R_EUSAGE, "time is before 1970");
	if (log->run && !p4r_run_name_valid(log->run))
		return p4r_error_set(P4R_EUSAGE, "invalid run name '%s': use 1..%d letters, digits and "
				     "'_ . - / @'", log->run, P4R_RUN_NAME_MAX);
	if (log->experiment && *log->experiment && !p4r_experiment_valid(log->experiment))
		return p4r_error_set(P4R_EUSAGE, "invalid experiment '%s': use 1..%d letters, digits and "
				     "'_ . - / @'", log->experiment, P4R_EXPERIMENT_MAX);
	for (i = 0; i < log->nmetrics; i++) {
		const p4r_metric_kv *m = &log->metrics[i];

		if (!p4r_metric_key_valid(m->key))
			return p4r_error_set(P4R_EUSAGE, "invalid metric key '%s': use 1..%d letters, "
					     "digits and '_ . - / @'", m->key ? m->key : "", P4R_METRIC_KEY_MAX);
		if (!isfinite(m->value)) {
			snprintf(v, sizeof(v), "%g", m->value);
			return p4r_error_set(P4R_EUSAGE, "invalid metric '%s=%s': not a finite number", m->key, v);
		}
	}
	for (i = 0; i < log->nparams; i++)
		if ((rc = p4r_param_check(log->params[i].key, log->params[i].value)) < 0)
			return rc;
	if ((rc = check_unique(log->metrics, log->nmetrics, sizeof(*log->metrics), "metric")) < 0 ||
	    (rc = check_unique(log->params, log->nparams, sizeof(*log->params), "param")) < 0)
		return rc;
	return 0;
}

/* ---- directions ---- */

enum match { EXACT, PREFIX, SUFFIX, CONTAINS };

static const struct goal_rule {
	enum match how;
	const char *text;
	p4r_metric_goal goal;
} goal_rules[] = {
	/* Lower is better first: "quality_loss" is a loss. */
	{ PREFIX, "latency", P4R_GOAL_MIN },
	{ CONTAINS, "loss", P4R_GOAL_MIN },
	{ PREFIX, "error", P4R_GOAL_MIN },
	{ SUFFIX, "_ms", P4R_GOAL_MIN },
	{ EXACT, "mae", P4R_GOAL_MIN },
	{ EXACT, "mse", P4R_GOAL_MIN },
	{ EXACT, "rmse", P4R_GOAL_MIN },
	{ EXACT, "accuracy", P4R_GOAL_MAX },
	{ PREFIX, "precision", P4R_GOAL_MAX },
	{ PREFIX, "recall", P4R_GOAL_MAX },
	{ EXACT, "f1", P4R_GOAL_MAX },
	{ EXACT, "spearman", P4R_GOAL_MAX },
	{ PREFIX, "cosine", P4R_GOAL_MAX },
	{ PREFIX, "ndcg", P4R_GOAL_MAX },
	{ EXACT, "tokens/sec", P4R_GOAL_MAX },
	{ PREFIX, "quality", P4R_GOAL_MAX },
};

static bool rule_matches(const struct goal_rule *r, const char *s, size_t len)
{
	size_t tl = strlen(r->text);

	switch (r->how) {
	case EXACT: return len == tl && !memcmp(s, r->text, tl);
	case PREFIX: return len >= tl && !memcmp(s, r->text, tl);
	case SUFFIX: return len >= tl && !memcmp(s + len - tl, r->text, tl);
	default: return memmem(s, len, r->text, tl) != NULL;
	}
}

static p4r_metric_goal goal_of(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(goal_rules) / sizeof(goal_rules[0]); i++)
		if (rule_matches(&goal_rules[i], s, len))
			return goal_rules[i].goal;
	return P4R_GOAL_UNKNOWN;
}

p4r_metric_goal p4r_metric_default_goal(const char *key)
{
	char low[P4R_METRIC_KEY_MAX + 1];
	const char *cand;
	size_t i, len;

	if (!p4r_metric_key_valid(key))
		return P4R_GOAL_UNKNOWN;
	for (i = 0; key[i]; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = '\0';
	/* The whole key, then each part after a '/' ("eval/f1"), each with and
	 * without an "@k" suffix ("f1@5"). */
	for (cand = low; cand; cand = strchr(cand, '/') ? strchr(cand, '/') + 1 : NULL) {
		const char *at = strchr(cand, '@');
		p4r_metric_goal g;

		len = strlen(cand);
		if ((g = goal_of(cand, len)) != P4R_GOAL_UNKNOWN)
			return g;
		if (at && (g = goal_of(cand, (size_t)(at - cand))) != P4R_GOAL_UNKNOWN)
			return g;
	}
	return P4R_GOAL_UNKNOWN;
}

const char *p4r_metric_goal_name(p4r_metric_goal g)
{
	return g == P4R_GOAL_MAX ? "max" : g == P4R_GOAL_MIN ? "min" : NULL;
}

int p4r_metric_goal_get(p4r_metric_goal *out, p4r_config *cfg, const char *key)
{
	char name[P4R_METRIC_KEY_MAX + 16], *value = NULL;
	int rc;

	*out = p4r_metric_default_goal(key);
	if (!cfg || !p4r_metric_key_valid(key))
		return 0;
	snprintf(name, sizeof(name), "metric.%s.goal", key);
	rc = p4r_config_get(cfg, P4R_CONFIG_ALL, name, &value);
	if (rc == P4R_ENOTFOUND) {
		p4r_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!strcasecmp(value, "max"))
		*out = P4R_GOAL_MAX;
	else if (!strcasecmp(value, "min"))
		*out = P4R_GOAL_MIN;
	else
		rc = p4r_error_set(P4R_EUSAGE, "invalid value '%s' for config '%s': expected max or min",
				   value, name);
	free(value);
	return rc;
}

/* ---- the table of metrics_sql.c's queries, in memory ----
 * Here, not beside the queries that fill it: metrics.c is the lower layer
 * (values, keys, goals, JSON; no SQL) and registry/metrics_sql.c calls it,
 * never the other way round, so the table's accessors that
 * p4r_json_metric_row needs live on this side. */

void p4r_metric_table_clear(p4r_metric_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nkeys; i++) {
		free(t->keys[i]);
		free(t->columns[i]);
	}
	free(t->keys);
	free(t->columns);
	memset(t, 0, sizeof(*t));
}

const p4r_metric_cell *p4r_metric_table_get(const p4r_metric_table *t, size_t row, size_t col)
{
	const p4r_metric_cell *c;

	if (!t || row >= t->nrows || col >= t->nkeys)
		return NULL;
	c = &t->columns[col][row];
	return c->id ? c : NULL;
}

/* ---- JSON ---- */

cJSON *p4r_json_metric_value(double v)
{
	char buf[32];

	/* Raw text skips cJSON's print-and-reparse per number, which dominates
	 * a 10,000-version table; the text is valid JSON (finite values only). */
	p4r_metric_format(buf, sizeof(buf), isfinite(v) ? v : 0);
	return cJSON_CreateRaw(buf);
}

cJSON *p4r_json_metric_row(const p4r_metric_table *t, size_t row)
{
	cJSON *o = cJSON_CreateObject(), *item;
	size_t k;

	for (k = 0; o && k < t->nkeys; k++) {
		const p4r_metric_cell *c = p4r_metric_table_get(t, row, k);

		if (!c)
			continue;
		if (!(item = p4r_json_metric_value(c->value))) {
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddItemToObject(o, t->keys[k], item);
	}
	return o;
}
