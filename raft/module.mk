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
$(eval $(call unit_test,test_raft_driver,raft/tests/test_driver.c,raft rpc common))
endif
# SOLUTION END
# SOLUTION BEGIN
$(eval $(call unit_test,test_raft_core_random,raft/tests/test_core_random.c,raft common))
# SOLUTION END
