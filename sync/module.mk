# sync/: every .c file in this folder belongs to libferry.
LIB_SRCS += $(wildcard sync/*.c)
