/*
 * usb_fat.c — names a FAT32 or exFAT stick can hold, as Windows reads them.
 *
 * Windows refuses : * ? " < > | \ and control characters in a name, drops a
 * trailing dot or space (so "a." and "a" become one file), and reserves the
 * device names CON, PRN, AUX, NUL, COM1-9 and LPT1-9 with any extension.
 * Everything ferry writes to a stick passes through here before the first
 * byte is written, so a teacher never carries a stick Windows cannot open.
 * Case-insensitive collisions are the exporter's to find, since they depend
 * on every other name on the stick.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "sync/usb.h"

static bool is_device(const char *s, size_t n)
{
	static const char *const dev[] = {"con", "prn", "aux", "nul"};
	size_t base = n;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '.') {
			base = i;
			break;
		}
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
		if (base == 3 && strncasecmp(s, dev[i], 3) == 0)
			return true;
	return base == 4 && (strncasecmp(s, "com", 3) == 0 || strncasecmp(s, "lpt", 3) == 0) &&
	       s[3] >= '1' && s[3] <= '9';
}

static int check_segment(const char *path, const char *s, size_t n)
{
	if (n == 0)
		return err_set(-EINVAL,
			       "\"%s\" cannot be written to a USB stick: it has an empty "
			       "name",
			       path);
	if (n > LIMIT_NAME_BYTES)
		return err_set(-EINVAL,
			       "\"%s\" cannot be written to a USB stick: a name is longer "
			       "than %u bytes",
			       path, LIMIT_NAME_BYTES);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || strchr(":*?\"<>|\\", c))
			return err_set(-EINVAL,
				       "\"%s\" cannot be written to a USB stick: Windows "
				       "does not allow the character '%c' in a name",
				       path, c < 0x20 || c == 0x7f ? '?' : c);
	}
	if (s[n - 1] == '.' || s[n - 1] == ' ')
		return err_set(-EINVAL,
			       "\"%s\" cannot be written to a USB stick: Windows drops "
			       "a dot or space at the end of a name",
			       path);
	if (is_device(s, n))
		return err_set(-EINVAL,
			       "\"%s\" cannot be written to a USB stick: \"%.*s\" is a "
			       "reserved device name on Windows",
			       path, (int)n, s);
	return 0;
}

int usb_fat_name_check(const char *path)
{
	const char *s = path;

	if (!path || !*path || strlen(path) > LIMIT_PATH_BYTES)
		return err_set(-EINVAL, "a path on the stick is empty or too long");
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		int r = check_segment(path, s, n);

		if (r < 0)
			return r;
		if (!slash)
			return 0;
		s = slash + 1;
	}
}
