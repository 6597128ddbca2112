# satellite/: see satellite/satellite.h
LIB_SRCS +=
