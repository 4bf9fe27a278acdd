# labs/net/ - labnet, labrpc's fault model over loopback TCP (liblabnet),
# its unit tests (labrpc's own tests ported, plus fault-distribution and
# kill-semantics checks), and the wire-format interoperability test:
#
#   make test-interop   a plain-Python msgpack client (Debian's
#                       python3-msgpack, no project code) calls the C
#                       interop server and sends it malformed input.
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call module_lib,labnet,labs/net/labnet.c))
$(eval $(call unit_test,test_labnet,labs/net/tests/test_labnet.c,labnet labtimeline rpc common))
$(eval $(call program,labnet-interop-server,labs/net/interop/interop_server.c,rpc common))
endif

.PHONY: test-interop
test-interop: $(BUILD)/bin/labnet-interop-server
	/usr/bin/python3 labs/net/interop/test_interop.py $(BUILD)/bin/labnet-interop-server
EXTRA_TESTS += test-interop
