# sync/: see sync/sync.h
LIB_SRCS +=
