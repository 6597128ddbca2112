/*
 * err.c — the per-thread detail line behind err.h.
 */
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char detail[512];

/* Formats into a scratch buffer first: callers often pass err_detail()
 * itself as an argument, to wrap the detail with context. */
static void set_detail(const char *fmt, va_list ap)
{
	char tmp[sizeof(detail)];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(detail, tmp, sizeof(detail));
}

int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_detail(fmt, ap);
	va_end(ap);
	return code;
}

int err_keep(int code, const char *fmt, ...)
{
	va_list ap;

	if (detail[0])
		return code;
	va_start(ap, fmt);
	set_detail(fmt, ap);
	va_end(ap);
	return code;
}

const char *err_detail(void)
{
	return detail;
}

void err_clear(void)
{
	detail[0] = '\0';
}

const char *err_text(int code)
{
	if (detail[0])
		return detail;
	if (code == -EKEYREJECTED)
		return "signature rejected";
	if (code == -EBADMSG)
		return "corrupt data";
	return strerror(code < 0 ? -code : code);
}
