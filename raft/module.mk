# raft/ - Raft (lab 3) and the rsm layer (lab 4, rsm.c): every raft/*.c
# goes into libraft, which comes after libkvsrv on every link line (and
# lab5sc links no libkvsrv), so nothing here may call kvsrv/kv_map.h.
# SOLUTION BEGIN
# The reference: the deterministic core (core.c, log.c, election.c,
# replication.c, snapshot.c, encode.c), its wire codec (wire.c) and the
# threaded driver behind raft.h (driver.c). The core objects depend only on
# common/, so a program that uses just raft_core.h links without rpc/.
# SOLUTION END
RAFT_SRCS := $(wildcard raft/*.c)
$(eval $(call module_lib,raft,$(RAFT_SRCS)))
# SOLUTION BEGIN
$(eval $(call unit_test,test_raft_core,raft/tests/test_core.c,raft common))
# SOLUTION END
$(eval $(call unit_test,test_persister,common/tests/test_persister.c,common))
# SOLUTION BEGIN
# The codec and driver tests need rpc/ (librpc).
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call unit_test,test_raft_wire,raft/tests/test_wire.c,raft rpc common))
$(eval $(call unit_test,test_raft_driver,raft/tests/test_driver.c rpc/tests/rpc_testlib.c,raft rpc common))
endif
# SOLUTION END
# SOLUTION BEGIN
$(eval $(call unit_test,test_raft_core_random,raft/tests/test_core_random.c,raft common))
# SOLUTION END
# SOLUTION BEGIN
# --- fuzzing the Raft message decoder (clang + libFuzzer; see rpc/module.mk)
#   make fuzz-raft       build $(BUILD)/fuzz/fuzz_raft_wire
#   make fuzz-ci         also runs it for FUZZ_TIME seconds
RAFT_FUZZ_DIR := $(BUILD)/fuzz
RAFT_FUZZ_SRCS := raft/wire.c rpc/scan.c rpc/wire.c rpc/codec_dec.c \
                  rpc/codec_pack.c common/buf.c common/err.c
$(RAFT_FUZZ_DIR)/fuzz_raft_wire: raft/fuzz/fuzz_raft_wire.c $(RAFT_FUZZ_SRCS) \
                                 raft/wire.h raft/raft_internal.h rpc/rpc_internal.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(RPC_FUZZ_CFLAGS) raft/fuzz/fuzz_raft_wire.c $(RAFT_FUZZ_SRCS) \
	    -o $@ $(MSGPACK_LIBS)
.PHONY: fuzz-raft fuzz-raft-ci
fuzz-raft: $(RAFT_FUZZ_DIR)/fuzz_raft_wire
fuzz: fuzz-raft
fuzz-raft-ci: $(RAFT_FUZZ_DIR)/fuzz_raft_wire
	@rm -rf $(RAFT_FUZZ_DIR)/raft-seeds
	@mkdir -p $(RAFT_FUZZ_DIR)/raft-corpus
	/usr/bin/python3 raft/fuzz/gen_raft_seeds.py $(RAFT_FUZZ_DIR)/raft-seeds
	$(RAFT_FUZZ_DIR)/fuzz_raft_wire -max_total_time=$(FUZZ_TIME) \
	    -rss_limit_mb=2048 -max_len=8192 -timeout=$(FUZZ_UNIT_TIMEOUT) \
	    -artifact_prefix=$(RAFT_FUZZ_DIR)/raft- \
	    $(RAFT_FUZZ_DIR)/raft-corpus $(RAFT_FUZZ_DIR)/raft-seeds
fuzz-ci: fuzz-raft-ci
# SOLUTION END
