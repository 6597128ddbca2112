/*
 * sync_control.h — what `ferry sync` takes from ferry.conf and from its
 * run-control options (--config, --bwlimit, --window, --deadline), merged
 * into struct sync_opts.  Command-line options override the file.
 *
 * The configuration is --config FILE, else $FERRY_CONFIG, else
 * /etc/ferry/ferry.conf when it exists (a missing default file is not an
 * error; a missing named one is).  For tests, $FERRY_NOW (ISO 8601, as
 * --deadline takes it) stands in for the current time when deciding
 * windows and deadlines.
 */
#ifndef FERRY_CMD_SYNC_CONTROL_H
#define FERRY_CMD_SYNC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "sync/config.h"
#include "sync/sync.h"

/* The options as given on the command line (NULL: not given). */
struct sync_control {
	const char *config, *bwlimit, *window, *deadline;
	struct sync_config cfg;
	const char *sources[SYNC_MAX_SOURCES];
	const char *channels[SYNC_MAX_CHANNELS];
	char reason[192]; /* why the run stops, or why it did not start */
};

/* Loads the configuration and fills in o what the command line left unset
 * (store, sources, channels, bwlimit, stop time, CA, known_hosts,
 * identity).  Returns an exit code: EXIT_DONE to go on, EXIT_PARTIAL when
 * the run may not start now (outside its window, past its deadline; the
 * line saying so is printed and left in ctl->reason), else the error's
 * exit code (printed). */
int sync_control_apply(struct sync_control *ctl, struct sync_opts *o);
void sync_control_release(struct sync_control *ctl);

#endif
