# kvsrv/ - lab 2 single-server KV (library), plus the store/dedup tables
# (kv_map.h) that kvraft reuses.
# Every kvsrv/*.c (a student's new files too: grade restores this file).
KVSRV_SRCS := $(wildcard kvsrv/*.c)
$(eval $(call module_lib,kvsrv,$(KVSRV_SRCS)))
# The unit test talks over real loopback RPC: it needs rpc/ to link.
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call unit_test,test_kvsrv,kvsrv/tests/test_kvsrv.c,kvsrv rpc common))
endif
