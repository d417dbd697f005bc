/* SPDX-License-Identifier: MIT */
/*
 * The enclave builder the commands use (showcase, cpu benchmarks) moved to
 * enclave/builder.h, part of libsgxemu.a, so that the tests build their
 * enclaves with the same code. This header only forwards to it.
 */
#ifndef SGXEMU_CLI_ENCL_BUILD_H
#define SGXEMU_CLI_ENCL_BUILD_H

#include "enclave/builder.h"

#endif /* SGXEMU_CLI_ENCL_BUILD_H */
