# common/ - leaf utilities shared by every module (no dependencies).
COMMON_SRCS := $(wildcard common/*.c)
$(eval $(call module_lib,common,$(COMMON_SRCS)))
$(eval $(call unit_test,test_common,common/tests/test_common.c,common))
