# labs/porcupine/ - linearizability checker (Porcupine in C) and KV model.
# The visualization page is kept as plain HTML (vis/template.html) and
# turned into C string literals at build time.
PORCUPINE_SRCS := $(filter-out labs/porcupine/tests/%,$(wildcard labs/porcupine/*.c))
PORCUPINE_GEN := $(BUILD)/gen/labs/porcupine/vis_template.c
$(PORCUPINE_GEN): labs/porcupine/vis/template.html labs/porcupine/vis/gen.py
	@mkdir -p $(@D)
	python3 labs/porcupine/vis/gen.py $@
$(BUILD)/gen/labs/porcupine/vis_template.o: $(PORCUPINE_GEN)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/lib/libporcupine.a: $(BUILD)/gen/labs/porcupine/vis_template.o
$(eval $(call module_lib,porcupine,$(PORCUPINE_SRCS)))
$(eval $(call unit_test,test_porcupine,labs/porcupine/tests/test_porcupine.c labs/porcupine/tests/sim.c,porcupine common))
