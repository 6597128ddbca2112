/*
 * fuzz_fdt.c — fuzz target for the FDT instance parser.
 *
 * The input is the XML of one FDT instance.  What the parser accepts must
 * be written back and parse again to the same files; a refusal must leave
 * a detail.  Nothing may crash, leak or read outside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "satellite/flute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flute_fdt fdt, back;
	struct buf b;
	int rc;

	err_clear();
	rc = flute_fdt_parse(&fdt, data, size);
	if (rc < 0) {
		if ((rc != -EBADMSG && rc != -EFBIG && rc != -ENOMEM) || !err_detail()[0])
			abort();
		flute_fdt_release(&fdt);
		return 0;
	}
	buf_init(&b, FLUTE_FDT_MAX_BYTES);
	if (flute_fdt_write(&b, &fdt) < 0 || flute_fdt_parse(&back, b.data, b.len) < 0 ||
	    back.n != fdt.n)
		abort();
	for (size_t i = 0; i < fdt.n; i++)
		if (back.files[i].toi != fdt.files[i].toi ||
		    back.files[i].length != fdt.files[i].length ||
		    strcmp(back.files[i].location, fdt.files[i].location) != 0 ||
		    memcmp(back.files[i].sha256, fdt.files[i].sha256, 32) != 0)
			abort();
	buf_release(&b);
	flute_fdt_release(&back);
	flute_fdt_release(&fdt);
	return 0;
}
