/*
 * when.c — windows and deadlines in local time (see when.h).
 *
 * Local time is what the admin means by "22:00": a window end is found by
 * asking mktime() for that clock time on the right day, so a DST change
 * moves it as the wall clock moves.  Digits are read one by one with fixed
 * widths; no sscanf, whose %d accepts signs, spaces and overflow.
 */
#define _GNU_SOURCE /* timegm */
#include "sync/when.h"

#include <string.h>
#include <time.h>

/* Reads exactly n digits at *p, advancing it. */
static bool digits(unsigned *out, const char **p, unsigned n)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (unsigned)(**p - '0');
	}
	*out = v;
	return true;
}

/* "HH:MM" at *p: minutes after midnight. */
static bool clock_time(unsigned *out, const char **p)
{
	unsigned h, m;

	if (!digits(&h, p, 2) || *(*p)++ != ':' || !digits(&m, p, 2) || h > 23 || m > 59)
		return false;
	*out = h * 60 + m;
	return true;
}

int sync_window_parse(struct sync_window *out, const char *s)
{
	const char *p = s;

	if (!clock_time(&out->start, &p) || *p++ != '-' || !clock_time(&out->end, &p) || *p)
		return err_set(-EINVAL, "window \"%.64s\": not HH:MM-HH:MM (e.g. 22:00-06:00)", s);
	if (out->start == out->end)
		return err_set(-EINVAL, "window \"%.64s\": starts where it ends", s);
	return 0;
}

/* The time the local clock next shows `minute` (at :00 seconds), at or
 * after the start of the day of tm, plus `days`. */
static int64_t local_at(const struct tm *now, unsigned minute, int days)
{
	struct tm t = *now;

	t.tm_hour = (int)(minute / 60);
	t.tm_min = (int)(minute % 60);
	t.tm_sec = 0;
	t.tm_mday += days;
	t.tm_isdst = -1;
	return (int64_t)mktime(&t);
}

bool sync_window_at(int64_t *edge, const struct sync_window *w, int64_t now)
{
	time_t tt = (time_t)now;
	struct tm tm;
	unsigned m;
	bool inside;

	localtime_r(&tt, &tm);
	m = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
	if (w->start < w->end)
		inside = m >= w->start && m < w->end;
	else
		inside = m >= w->start || m < w->end;
	if (inside)
		*edge = local_at(&tm, w->end, w->end > m ? 0 : 1);
	else
		*edge = local_at(&tm, w->start, w->start > m ? 0 : 1);
	return inside;
}

int sync_time_parse_iso(int64_t *out, const char *s)
{
	const char *p = s;
	unsigned y, mo, d, hm, sec = 0, oh, om;
	struct tm tm = { 0 };
	int64_t t, off = 0;
	char z;

	if (!digits(&y, &p, 4) || *p++ != '-' || !digits(&mo, &p, 2) || *p++ != '-' ||
	    !digits(&d, &p, 2) || (*p != 'T' && *p != ' '))
		goto bad;
	p++;
	if (!clock_time(&hm, &p))
		goto bad;
	if (*p == ':' && (p++, !digits(&sec, &p, 2) || sec > 60))
		goto bad;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
		goto bad;
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)(hm / 60);
	tm.tm_min = (int)(hm % 60);
	tm.tm_sec = (int)sec;
	z = *p;
	if (z == '\0') {
		tm.tm_isdst = -1;
		t = (int64_t)mktime(&tm);
	} else if (z == 'Z' && p[1] == '\0') {
		t = (int64_t)timegm(&tm);
	} else if ((z == '+' || z == '-') && (p++, digits(&oh, &p, 2)) && *p++ == ':' &&
		   digits(&om, &p, 2) && *p == '\0' && oh < 24 && om < 60) {
		off = (int64_t)(oh * 3600 + om * 60);
		t = (int64_t)timegm(&tm) - (z == '+' ? off : -off);
	} else {
		goto bad;
	}
	if (t == -1)
		goto bad;
	*out = t;
	return 0;
bad:
	return err_set(-EINVAL, "time \"%.64s\": not YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]", s);
}

int sync_deadline_parse(int64_t *out, const char *s, int64_t now)
{
	size_t n = strlen(s);
	const char *p = s;
	unsigned m;

	if (n == 5 && clock_time(&m, &p) && *p == '\0') {
		time_t tt = (time_t)now;
		struct tm tm;
		int64_t t;

		localtime_r(&tt, &tm);
		t = local_at(&tm, m, 0);
		*out = t > now ? t : local_at(&tm, m, 1);
		return 0;
	}
	if (n > 0 && n <= 9 && strspn(s, "0123456789") == n) {
		int64_t v = 0;

		for (size_t i = 0; i < n; i++)
			v = v * 10 + (s[i] - '0');
		*out = now + v;
		return 0;
	}
	if (n >= 16 && sync_time_parse_iso(out, s) == 0)
		return 0;
	return err_set(-EINVAL, "deadline \"%.64s\": not HH:MM, a number of seconds, or "
				"YYYY-MM-DDTHH:MM[:SS][Z]", s);
}
