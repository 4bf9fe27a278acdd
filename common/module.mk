# common/ - leaf utilities shared by every module (no dependencies).
COMMON_SRCS := $(wildcard common/*.c)
$(eval $(call module_lib,common,$(COMMON_SRCS)))
$(eval $(call unit_test,test_common,common/tests/test_common.c,common))
$(eval $(call unit_test,test_persist_log,common/tests/test_persist_log.c,common))
