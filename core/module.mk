# core/: libc-level helpers shared by every module (plus the OpenSSL adapter).
LIB_SRCS += core/err.c core/mem.c core/buf.c core/fsx.c core/codec_text.c \
	core/crypto_openssl.c core/json_write.c
