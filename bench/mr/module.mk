# bench/mr/ - `make bench-mr`: word count over a generated corpus (>= 100 MB)
# with mrsequential, with a coordinator + 2 workers, with coreutils and in
# the distributed mode; then a straggler with and without backup tasks.
.PHONY: bench-mr
bench-mr: $(MR_PROGS) $(MR_APPS)
	BUILD=$(BUILD) bench/mr/bench-mr.sh
