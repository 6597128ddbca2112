/*
 * usb_readme.c — the two files a person sees first when opening the stick.
 *
 * README.txt is for Windows Notepad: UTF-8 with a byte-order mark (older
 * Notepads guess the encoding otherwise and show Chinese as noise) and CRLF
 * line ends.  index.html lists what is on the stick and says what to do
 * with it at school.  Neither is read by ferry; both are rewritten by every
 * export (temporary name, fsync, rename).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fsx.h"
#include "core/mem.h"
#include "sync/usb.h"

static void human(char *out, size_t cap, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(out, cap, "%.1f GiB", (double)b / (double)(1ull << 30));
	else if (b >= (1u << 20))
		snprintf(out, cap, "%.1f MiB", (double)b / (double)(1u << 20));
	else
		snprintf(out, cap, "%.0f KiB", (double)b / 1024.0);
}

static void date(char *out, size_t cap, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d", &tm))
		snprintf(out, cap, "?");
}

/* Appends text with every LF turned into CRLF. */
static int crlf(struct buf *b, const char *text)
{
	int r = 0;

	for (const char *p = text; r >= 0 && *p; p++)
		r = *p == '\n' ? buf_append(b, "\r\n", 2) : buf_append_byte(b, (uint8_t)*p);
	return r;
}

static int readme(struct buf *b, const struct usb_export_result *res, const char *repo, int64_t now)
{
	char d[32], s[32], line[512];
	int r = buf_append(b, "\xEF\xBB\xBF", 3);

	date(d, sizeof(d), (uint64_t)now);
	if (r >= 0)
		r = crlf(b,
			 "ferry 数据摆渡 — 教育资源U盘 / education resources on a USB stick\n\n"
			 "这个U盘装的是县资源中心发布的教育资源（已签名，学校会逐字节校验）。\n"
			 "在学校：把U盘插到学校服务器上，运行\n"
			 "    ferry usb import /var/lib/ferry 盘符或路径\n"
			 "程序会告诉你装好了什么、U盘上有什么损坏或缺少。\n"
			 "如果提示有损坏或缺少，请回到县中心重新拷贝这个U盘。\n"
			 "不要修改或删除这个U盘上的文件夹；打开 index.html 可以看到内容清单。\n\n"
			 "This stick carries education resources published by the county "
			 "resource center (signed; the school checks every byte).\n"
			 "At school: plug it into the school server and run\n"
			 "    ferry usb import /var/lib/ferry <path of the stick>\n"
			 "It tells you what was installed and what on the stick was damaged "
			 "or missing.\n"
			 "If it says something is damaged or missing, copy the stick again at "
			 "the county center.\n"
			 "Do not change or delete the folders on this stick; open index.html "
			 "for the list of contents.\n\n");
	snprintf(line, sizeof(line),
		 "写入日期 / written: %s   仓库 / repository: %s\n\n"
		 "频道 / channels:\n",
		 d, repo);
	if (r >= 0)
		r = crlf(b, line);
	for (size_t i = 0; r >= 0 && i < res->n; i++) {
		const struct usb_export_channel *c = &res->ch[i];

		date(d, sizeof(d), c->time);
		human(s, sizeof(s), c->size);
		snprintf(line, sizeof(line),
			 "  %s  版本/release %llu  %s  %llu 个文件/files  %s%s\n", c->name,
			 (unsigned long long)c->version, d, (unsigned long long)c->files, s,
			 c->included ? "" : "  （未拷贝 / not on this stick）");
		r = crlf(b, line);
	}
	return r;
}

static int html_text(struct buf *b, const char *s)
{
	int r = 0;

	for (; r >= 0 && *s; s++) {
		if (*s == '<')
			r = buf_append_str(b, "&lt;");
		else if (*s == '>')
			r = buf_append_str(b, "&gt;");
		else if (*s == '&')
			r = buf_append_str(b, "&amp;");
		else
			r = buf_append_byte(b, (uint8_t)*s);
	}
	return r;
}

static int index_html(struct buf *b, const struct usb_export_result *res, const char *repo,
		      int64_t now)
{
	char d[32], s[32];
	int r;

	date(d, sizeof(d), (uint64_t)now);
	r = buf_printf(b,
		       "<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
		       "<title>ferry 教育资源U盘</title></head><body>\n"
		       "<h1>教育资源U盘 / Education resources</h1>\n"
		       "<p>写入日期 / written %s · 仓库 / repository %s</p>\n"
		       "<table border=\"1\" cellpadding=\"4\"><tr><th>频道 channel</th>"
		       "<th>版本 release</th><th>发布日期 published</th><th>文件 files</th>"
		       "<th>大小 size</th><th>在U盘上 on stick</th></tr>\n",
		       d, repo);
	for (size_t i = 0; r >= 0 && i < res->n; i++) {
		const struct usb_export_channel *c = &res->ch[i];

		date(d, sizeof(d), c->time);
		human(s, sizeof(s), c->size);
		r = buf_append_str(b, "<tr><td>");
		if (r >= 0)
			r = html_text(b, c->name);
		if (r >= 0)
			r = buf_printf(b,
				       "</td><td>%llu</td><td>%s</td><td>%llu</td><td>%s</td>"
				       "<td>%s</td></tr>\n",
				       (unsigned long long)c->version, d,
				       (unsigned long long)c->files, s,
				       c->included ? "是 yes" : "否 no");
	}
	if (r >= 0)
		r = buf_append_str(
		    b,
		    "</table>\n<h2>在学校怎么做 / What to do at school</h2>\n<ol>\n"
		    "<li>把U盘插到学校服务器上。Plug the stick into the school server.</li>\n"
		    "<li>运行 Run: <code>ferry usb import /var/lib/ferry "
		    "这个U盘的路径</code></li>\n"
		    "<li>如果提示U盘有损坏或缺少，回县中心重新拷贝。If it reports damaged or "
		    "missing files, copy the stick again at the county center.</li>\n"
		    "<li>需要别的内容？运行 <code>ferry usb request /var/lib/ferry U盘路径</code>，"
		    "把U盘带回县中心。Need more? Run <code>ferry usb request</code> and bring the "
		    "stick back to the county center.</li>\n</ol>\n</body></html>\n");
	return r;
}

int usb_readme_write(const char *dest, const struct usb_export_result *res, const char *repo_id,
		     int64_t now)
{
	AUTO_FREE char *rp = fs_join(dest, USB_README_FILE);
	AUTO_FREE char *ip = fs_join(dest, USB_INDEX_FILE);
	struct buf b;
	int r;

	if (!rp || !ip)
		return -ENOMEM;
	buf_init(&b, 1u << 20);
	r = readme(&b, res, repo_id, now);
	if (r >= 0)
		r = fs_write_atomic(rp, b.data, b.len);
	buf_reset(&b);
	if (r >= 0)
		r = index_html(&b, res, repo_id, now);
	if (r >= 0)
		r = fs_write_atomic(ip, b.data, b.len);
	buf_release(&b);
	return r;
}
