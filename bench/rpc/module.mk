# bench/rpc/ - bench-rpc: a no-op rpc_call's round trip against a raw TCP
# ping-pong of the same frame sizes (measured in the same run), and
# throughput with 1, 4 and 16 callers.
#   make bench-rpc     (always the release build; never gates anything)
# The last line printed is rpc_rtt_ratio=<median rpc RTT / median raw RTT>.
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,bench-rpc,bench/rpc/bench_rpc.c bench/rpc/raw_tcp.c,rpc common))
endif

.PHONY: bench-rpc
# Timings of a sanitized build would mean nothing: build the release
# variant even when asked for `make asan bench-rpc`.
bench-rpc:
	@$(MAKE) --no-print-directory VARIANT=release BUILDDIR=$(BUILDDIR) $(BUILDDIR)/release/bin/bench-rpc
	$(BUILDDIR)/release/bin/bench-rpc $(BENCH_RPC_ARGS)
