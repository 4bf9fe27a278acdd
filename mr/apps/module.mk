# mr/apps/ - the bundled MapReduce apps, one plugin (.so) each.
MR_APPS_UTIL := mr/apps/apps_util.c
$(eval $(call plugin,wc,mr/apps/wc.c $(MR_APPS_UTIL)))
$(eval $(call plugin,indexer,mr/apps/indexer.c $(MR_APPS_UTIL)))
$(eval $(call plugin,mtiming,mr/apps/mtiming.c $(MR_APPS_UTIL)))
$(eval $(call plugin,rtiming,mr/apps/rtiming.c $(MR_APPS_UTIL)))
$(eval $(call plugin,jobcount,mr/apps/jobcount.c $(MR_APPS_UTIL)))
$(eval $(call plugin,early_exit,mr/apps/early_exit.c $(MR_APPS_UTIL)))
$(eval $(call plugin,crash,mr/apps/crash.c $(MR_APPS_UTIL)))
$(eval $(call plugin,nocrash,mr/apps/nocrash.c $(MR_APPS_UTIL)))
# Word count with injected slow tasks (test-mr-distributed.sh, bench-mr).
$(eval $(call plugin,straggler,mr/apps/straggler.c $(MR_APPS_UTIL)))
# Broken plugins for mr/tests/test-mr-errors.sh (missing Reduce / Map).
$(eval $(call plugin,mr_noreduce,mr/tests/noreduce.c))
$(eval $(call plugin,mr_nomap,mr/tests/nomap.c))
$(eval $(call plugin,mr_crashonce,mr/tests/crashonce.c $(MR_APPS_UTIL)))
# LD_PRELOAD shim logging fsync and rename (test-mr-errors.sh).
$(eval $(call plugin,mr_fsync_spy,mr/tests/fsync_spy.c))
