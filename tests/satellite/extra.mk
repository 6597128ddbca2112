# tests/satellite/: extra link flags.  liblcrq (GPL) is the RFC 6330 oracle
# and is linked into this one test binary only, never into ferry/libferry.
TEST_LIBS_test_rq_oracle := -llcrq
