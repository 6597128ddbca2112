# cmd/: the command-line front end; the only code that prints or exits.
CMD_SRCS += $(wildcard cmd/*.c)
