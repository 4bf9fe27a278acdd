# labs/shardctrler/ - the graded lab 5A shardctrler tests and their config.
#
#   make test-lab5A     shardctrler tests + shardkv's 5A tests (see
#                       labs/shardkv/module.mk, which defines the target)
#   build/release/tests/lab5sc --list | [--seed N] TestName...
LAB5SC_SRCS := labs/shardctrler/lab5sc.c labs/shardctrler/config.c \
               labs/timeline/raft_tap.c
LAB5SC_LIBS := labtester labnet labtimeline shardctrler raft rpc common
LAB5SC_BIN := $(BUILD)/tests/lab5sc

ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk)),)
$(LAB5SC_BIN): $(call objs,$(LAB5SC_SRCS)) $(call libs,$(LAB5SC_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TIMELINE_TAP_LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB5SC_BIN)
endif
