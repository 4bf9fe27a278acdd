# rpc/ - msgpack-rpc over TCP / unix sockets (see rpc/rpc.h).
RPC_SRCS := $(filter-out rpc/fuzz/%,$(wildcard rpc/*.c))
$(eval $(call module_lib,rpc,$(RPC_SRCS)))

$(eval $(call unit_test,test_rpc_codec,rpc/tests/test_rpc_codec.c,rpc common))
$(eval $(call unit_test,test_rpc_call,rpc/tests/test_rpc_call.c rpc/tests/rpc_testlib.c,rpc common))
$(eval $(call unit_test,test_rpc_async,rpc/tests/test_rpc_async.c rpc/tests/rpc_testlib.c,rpc common))
$(eval $(call unit_test,test_rpc_hostile,rpc/tests/test_rpc_hostile.c rpc/tests/rpc_testlib.c,rpc common))

# --- fuzzing (clang + libFuzzer; not part of `all`) ------------------------
#   make fuzz       build $(BUILD)/fuzz/fuzz_wire
#   make fuzz-ci    run it for FUZZ_TIME seconds on a generated seed corpus
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
# Wall-clock seconds one input may take. Generous: on a loaded machine a
# 10 s limit produced a false "timeout" (the input runs in <0.4 s).
FUZZ_UNIT_TIMEOUT ?= 60
RPC_FUZZ_DIR := $(BUILD)/fuzz
RPC_FUZZ_SRCS := rpc/scan.c rpc/wire.c rpc/rbuf.c rpc/codec_dec.c \
                 rpc/codec_pack.c common/buf.c common/err.c
RPC_FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -pthread -I. \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    $(WARN) $(MSGPACK_CFLAGS)

$(RPC_FUZZ_DIR)/fuzz_wire: rpc/fuzz/fuzz_wire.c $(RPC_FUZZ_SRCS) rpc/rpc.h \
                           rpc/rpc_internal.h common/buf.h common/err.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(RPC_FUZZ_CFLAGS) rpc/fuzz/fuzz_wire.c $(RPC_FUZZ_SRCS) \
	    -o $@ $(MSGPACK_LIBS)

$(RPC_FUZZ_DIR)/gen_seeds: rpc/fuzz/gen_seeds.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -O1 $(WARN) $(MSGPACK_CFLAGS) $< \
	    -o $@ $(MSGPACK_LIBS)

.PHONY: fuzz fuzz-ci
fuzz: $(RPC_FUZZ_DIR)/fuzz_wire

# New corpus entries go to corpus/ (kept between runs); seeds/ is
# regenerated; crashes land in $(RPC_FUZZ_DIR)/crash-*.
fuzz-ci: $(RPC_FUZZ_DIR)/fuzz_wire $(RPC_FUZZ_DIR)/gen_seeds
	@rm -rf $(RPC_FUZZ_DIR)/seeds
	@mkdir -p $(RPC_FUZZ_DIR)/seeds $(RPC_FUZZ_DIR)/corpus
	$(RPC_FUZZ_DIR)/gen_seeds $(RPC_FUZZ_DIR)/seeds
	$(RPC_FUZZ_DIR)/fuzz_wire -max_total_time=$(FUZZ_TIME) \
	    -rss_limit_mb=2048 -max_len=16384 -timeout=$(FUZZ_UNIT_TIMEOUT) \
	    -artifact_prefix=$(RPC_FUZZ_DIR)/ \
	    $(RPC_FUZZ_DIR)/corpus $(RPC_FUZZ_DIR)/seeds
