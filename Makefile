# sgxemu build. `make` builds build/sgxemu (the CLI), build/libsgxemu.a and
# build/tests/sgxemu-tests; `make SAN=asan` builds the same into build-asan/
# with AddressSanitizer + UndefinedBehaviorSanitizer, `make SAN=tsan` into
# build-tsan/ with ThreadSanitizer; `make fuzz` builds the libFuzzer targets
# with clang into build-fuzz/. Sources are found by directory, so a new .c
# file in cpu/, sgx/, daemon/, host/, cli/, bench/ or tests/ needs no Makefile
# change.

CC      := gcc
SAN     ?=
ifeq ($(SAN),)
O       ?= build
SANFLAGS :=
OPT     := -O2
else ifeq ($(SAN),asan)
O       ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     := -O1
else ifeq ($(SAN),tsan)
O       ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     := -O1
else
$(error SAN must be empty, asan or tsan)
endif

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS  := -std=gnu11 $(OPT) -g -fPIC -pthread $(WARN) $(SANFLAGS) -Iinclude -I. \
           -D_GNU_SOURCE $(EXTRA_CFLAGS)
LDLIBS  := -lcrypto -lpthread -lm
LDFLAGS := -pthread $(SANFLAGS)

LIB_SRCS   := $(sort $(wildcard cpu/*.c sgx/*.c enclave/*.c daemon/*.c))
HOST_SRCS  := $(sort $(filter-out host/preload%,$(wildcard host/*.c host/*.S)))
PRELOAD_SRCS := $(sort $(wildcard host/preload*.c))
CLI_SRCS   := $(sort $(wildcard cli/*.c bench/*.c))
TEST_SRCS  := $(sort $(wildcard tests/*.c tests/util/*.c))
FUZZ_SRCS  := $(sort $(wildcard fuzz/*.c))

obj = $(patsubst %.S,$(O)/obj/%.o,$(patsubst %.c,$(O)/obj/%.o,$(1)))

LIB_OBJS   := $(call obj,$(LIB_SRCS))
HOST_OBJS  := $(call obj,$(HOST_SRCS))
PRELOAD_OBJS := $(call obj,$(PRELOAD_SRCS))
CLI_OBJS   := $(call obj,$(CLI_SRCS))
TEST_OBJS  := $(call obj,$(TEST_SRCS))

LIB   := $(O)/libsgxemu.a
HOSTLIB := $(O)/libsgxemu-host.a
CLI   := $(O)/sgxemu
TESTS := $(O)/tests/sgxemu-tests
SHIM  := $(if $(PRELOAD_SRCS),$(O)/libsgxemu-preload.so)

.PHONY: all clean fuzz
all: $(LIB) $(HOSTLIB) $(CLI) $(TESTS) $(SHIM)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

# The host integration (host/, minus the preload entry points) is a library
# of its own: the tests link it, the preload shim wraps it.
$(HOSTLIB): $(HOST_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(TESTS): $(TEST_OBJS) $(LIB) $(HOSTLIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJS) $(HOSTLIB) $(LIB) $(LDLIBS) -ldl

ifneq ($(PRELOAD_SRCS),)
$(SHIM): $(PRELOAD_OBJS) $(HOSTLIB) $(LIB)
	$(CC) $(LDFLAGS) -shared -o $@ $(PRELOAD_OBJS) -Wl,--whole-archive $(HOSTLIB) $(LIB) -Wl,--no-whole-archive $(LDLIBS) -ldl
endif

# libFuzzer targets: every fuzz/*.c is one target linked with the library,
# all compiled by clang with ASan+UBSan.
FUZZ_O     := build-fuzz
FUZZ_CC    := clang
FUZZ_FLAGS := -std=gnu11 -O1 -g -fPIC -pthread -Iinclude -I. -D_GNU_SOURCE $(WARN) \
              -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(LIB_SRCS))
FUZZ_BINS     := $(patsubst fuzz/%.c,$(FUZZ_O)/%,$(FUZZ_SRCS))

fuzz: $(FUZZ_BINS)

# Keep the objects: they are intermediate files to make, but rebuilding them
# all on every `make fuzz` would waste minutes.
.SECONDARY: $(FUZZ_LIB_OBJS) $(patsubst fuzz/%.c,$(FUZZ_O)/obj/fuzz/%.o,$(FUZZ_SRCS))

$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(FUZZ_O)/%: $(FUZZ_O)/obj/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(LDLIBS)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(O)/obj $(FUZZ_O)/obj -name '*.d' 2>/dev/null)

# sgxemu's own example SGX program (examples/): an enclave built freestanding
# with its own linker script, embedded into an untrusted host program that
# needs only libc and libcrypto. Neither half is built with sanitizers: the
# program plays the part of an unmodified SGX program, run under the preload
# shim, and the enclave has no runtime to host them.
EXAMPLES      := $(O)/examples/bigheap
EXAMPLE_ENCL  := $(O)/examples/bigheap_encl.elf
EXAMPLE_HOST_SRCS := $(sort $(wildcard examples/*.c examples/*.S))
EXAMPLE_HOST_OBJS := $(patsubst examples/%,$(O)/examples/obj/%.o,$(EXAMPLE_HOST_SRCS))
EXAMPLE_ENCL_SRCS := $(sort $(wildcard examples/enclave/*.c examples/enclave/*.S))
EXAMPLE_CFLAGS := -std=gnu11 -O2 -g -pthread $(WARN) -Iinclude -I. -D_GNU_SOURCE
ENCL_CFLAGS   := -std=gnu11 -O2 $(WARN) -I. -ffreestanding -fPIC -fno-stack-protector \
                 -fno-builtin -mgeneral-regs-only -mno-red-zone \
                 -fno-asynchronous-unwind-tables -fno-jump-tables
ENCL_LDFLAGS  := -static -nostdlib -nostartfiles -Wl,-T,examples/enclave/bigheap.lds \
                 -Wl,--build-id=none

all: $(EXAMPLES)
# The tests run the example under the shim, and the CLI (daemon tests).
$(TESTS): | $(EXAMPLES) $(CLI)

$(EXAMPLE_ENCL): $(EXAMPLE_ENCL_SRCS) examples/enclave/bigheap.lds examples/bigheap_abi.h
	@mkdir -p $(dir $@)
	$(CC) $(ENCL_CFLAGS) $(ENCL_LDFLAGS) -o $@ $(EXAMPLE_ENCL_SRCS)

$(O)/examples/obj/%.c.o: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) -MMD -MP -c $< -o $@

$(O)/examples/obj/%.S.o: examples/%.S
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) -DBIGHEAP_ENCL_ELF='"$(EXAMPLE_ENCL)"' -MMD -MP -c $< -o $@

$(O)/examples/obj/bigheap_blob.S.o: $(EXAMPLE_ENCL)

$(EXAMPLES): $(EXAMPLE_HOST_OBJS)
	$(CC) -pthread -o $@ $^ -lcrypto

-include $(wildcard $(O)/examples/obj/*.d)
