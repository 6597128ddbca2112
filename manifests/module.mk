# manifests/: see manifests/manifests.h
LIB_SRCS +=
