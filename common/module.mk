# common/ - leaf utilities shared by every module (no dependencies).
COMMON_SRCS := $(wildcard common/*.c)
$(eval $(call module_lib,common,$(COMMON_SRCS)))
$(eval $(call unit_test,test_common,common/tests/test_common.c,common))
$(eval $(call unit_test,test_persist_log,common/tests/test_persist_log.c,common))
$(eval $(call unit_test,test_persist_crash,common/tests/test_persist_crash.c,common))

# --- fuzzing the storage recovery path (clang + libFuzzer; see rpc/module.mk
# for FUZZ_CC, FUZZ_TIME, FUZZ_UNIT_TIMEOUT) --------------------------------
#   make fuzz-persist      build $(BUILD)/fuzz/fuzz_persist
#   make fuzz-ci           also runs it for FUZZ_TIME seconds
PERSIST_FUZZ_SRCS := common/persister.c common/persist_file.c common/crc32.c \
                     common/buf.c common/err.c common/clock.c
PERSIST_FUZZ_HDRS := common/persister.h common/persist_internal.h \
                     common/crc32.h common/buf.h common/err.h
$(BUILD)/fuzz/fuzz_persist: common/fuzz/fuzz_persist.c $(PERSIST_FUZZ_SRCS) \
                            $(PERSIST_FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -pthread -I. \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(WARN) common/fuzz/fuzz_persist.c $(PERSIST_FUZZ_SRCS) -o $@

$(BUILD)/fuzz/gen_persist_seeds: common/fuzz/gen_persist_seeds.c \
                                 $(PERSIST_FUZZ_SRCS) $(PERSIST_FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 -pthread -I. $(WARN) \
	    common/fuzz/gen_persist_seeds.c $(PERSIST_FUZZ_SRCS) -o $@

.PHONY: fuzz-persist fuzz-persist-ci
fuzz-persist: $(BUILD)/fuzz/fuzz_persist
fuzz: fuzz-persist
# -close_fd_mask=2: the persister reports each refused file on stderr.
fuzz-persist-ci: $(BUILD)/fuzz/fuzz_persist $(BUILD)/fuzz/gen_persist_seeds
	@rm -rf $(BUILD)/fuzz/persist-seeds
	@mkdir -p $(BUILD)/fuzz/persist-seeds $(BUILD)/fuzz/persist-corpus
	$(BUILD)/fuzz/gen_persist_seeds $(BUILD)/fuzz/persist-seeds
	$(BUILD)/fuzz/fuzz_persist -max_total_time=$(FUZZ_TIME) \
	    -rss_limit_mb=2048 -max_len=65536 -timeout=$(FUZZ_UNIT_TIMEOUT) \
	    -close_fd_mask=2 -artifact_prefix=$(BUILD)/fuzz/persist- \
	    $(BUILD)/fuzz/persist-corpus $(BUILD)/fuzz/persist-seeds
fuzz-ci: fuzz-persist-ci
