# core/: libc-level helpers shared by every module (plus the OpenSSL adapter).
LIB_SRCS += $(wildcard core/*.c)
