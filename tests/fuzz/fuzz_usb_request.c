/*
 * fuzz_usb_request.c — the USB request parser over arbitrary bytes.
 *
 * A request comes back from a stick that went through other hands.  Any
 * input must give 0 or a negative errno, never a crash; one that parses
 * must format to a document that parses again to the same request and
 * formats to the same bytes (so what the county reads is what the school
 * meant).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "sync/usb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct usb_request a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf x, y;

	if (usb_request_parse(&a, data, size) < 0)
		return 0;
	buf_init(&x, 4u << 20);
	buf_init(&y, 4u << 20);
	if (usb_request_format(&x, &a) < 0 || usb_request_parse(&b, x.data, x.len) < 0 ||
	    usb_request_format(&y, &b) < 0 || x.len != y.len || memcmp(x.data, y.data, x.len) != 0)
		abort();
	buf_release(&x);
	buf_release(&y);
	usb_request_release(&a);
	usb_request_release(&b);
	return 0;
}
