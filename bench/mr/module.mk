# bench/mr/ - `make bench-mr`: word count over a generated corpus (>= 100 MB)
# with mrsequential, with a coordinator + 2 workers, and with coreutils.
.PHONY: bench-mr
bench-mr: $(MR_PROGS) $(MR_APPS)
	BUILD=$(BUILD) bench/mr/bench-mr.sh
