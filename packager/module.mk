# packager/: see packager/packager.h
LIB_SRCS +=
