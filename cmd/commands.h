/*
 * commands.h — one function per ferry command, each in cmd/cmd_<name>.c.
 * argv[0] is the command's name; the function returns the exit code.
 */
#ifndef FERRY_CMD_COMMANDS_H
#define FERRY_CMD_COMMANDS_H

#include "cmd/cli.h"

int cmd_repo_init(struct cli *c, int argc, char **argv);
int cmd_pack(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_store_init(struct cli *c, int argc, char **argv);
int cmd_store_subscribe(struct cli *c, int argc, char **argv);
int cmd_store_unsubscribe(struct cli *c, int argc, char **argv);
int cmd_sync(struct cli *c, int argc, char **argv);
int cmd_checkout(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_gc(struct cli *c, int argc, char **argv);
int cmd_usb_export(struct cli *c, int argc, char **argv);
int cmd_usb_request(struct cli *c, int argc, char **argv);
int cmd_usb_import(struct cli *c, int argc, char **argv);
int cmd_sat(struct cli *c, int argc, char **argv); /* cmd/cmd_sat.c: send, recv */
/* cmd/cmd_sat_recv.c, dispatched by cmd_sat(): */
#define SAT_RECV_USAGE                                                                     \
	"sat recv STORE --group ADDR:PORT [--spool DIR] [--drop DIR] [--iface IF] [--tsi N]\n" \
	"             [--channel NAME]... [--sync-every S] [--exit-when-idle S | --until-installed]\n" \
	"             [--spool-max SIZE]"
#define SAT_STATUS_USAGE "sat status STORE [--spool DIR] [--drop DIR] [--json]"
int cmd_sat_recv(struct cli *c, int argc, char **argv);
int cmd_sat_status(struct cli *c, int argc, char **argv);
/* For ferry status: per file of the satellite spool (STORE/local/sat/spool,
 * if the receiver ever ran; else nothing), symbols held and needed. */
int sat_status_files(struct cli *c, const char *store);
int sat_status_room(struct cli *c, const char *store);

#endif
