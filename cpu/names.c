// SPDX-License-Identifier: MIT
/* Human-readable names of leaves and status codes, for logs and tests. */
#include "cpu/cpu_internal.h"

const char *sgx_encls_name(uint32_t leaf)
{
	static const char *const names[16] = {
		[ECREATE] = "ECREATE", [EADD] = "EADD", [EINIT] = "EINIT",
		[EREMOVE] = "EREMOVE", [EDGBRD] = "EDBGRD", [EDGBWR] = "EDBGWR",
		[EEXTEND] = "EEXTEND", [ELDB] = "ELDB", [ELDU] = "ELDU",
		[EBLOCK] = "EBLOCK", [EPA] = "EPA", [EWB] = "EWB",
		[ETRACK] = "ETRACK", [EAUG] = "EAUG", [EMODPR] = "EMODPR",
		[EMODT] = "EMODT",
	};

	return leaf < 16 ? names[leaf] : "ENCLS(unknown)";
}

const char *sgx_enclu_name(uint32_t leaf)
{
	static const char *const names[8] = {
		[EREPORT] = "EREPORT", [EGETKEY] = "EGETKEY", [EENTER] = "EENTER",
		[ERESUME] = "ERESUME", [EEXIT] = "EEXIT", [EACCEPT] = "EACCEPT",
		[EMODPE] = "EMODPE", [EACCEPTCOPY] = "EACCEPTCOPY",
	};

	return leaf < 8 ? names[leaf] : "ENCLU(unknown)";
}

static const char *fault_name(int code)
{
	switch (code & ~SGX_ENCLS_FAULT_FLAG) {
	case X86_TRAP_UD:
		return "#UD";
	case X86_TRAP_GP:
		return "#GP";
	case X86_TRAP_PF:
		return "#PF";
	default:
		return "fault";
	}
}

const char *sgx_status_name(int code)
{
	if (code & SGX_ENCLS_FAULT_FLAG)
		return fault_name(code);
	switch (code) {
	case SGX_SUCCESS:			return "SGX_SUCCESS";
	case SGX_INVALID_SIG_STRUCT:		return "SGX_INVALID_SIG_STRUCT";
	case SGX_INVALID_ATTRIBUTE:		return "SGX_INVALID_ATTRIBUTE";
	case SGX_BLKSTATE:			return "SGX_BLKSTATE";
	case SGX_INVALID_MEASUREMENT:		return "SGX_INVALID_MEASUREMENT";
	case SGX_NOTBLOCKABLE:			return "SGX_NOTBLOCKABLE";
	case SGX_PG_INVLD:			return "SGX_PG_INVLD";
	case SGX_EPC_PAGE_CONFLICT:		return "SGX_EPC_PAGE_CONFLICT";
	case SGX_INVALID_SIGNATURE:		return "SGX_INVALID_SIGNATURE";
	case SGX_MAC_COMPARE_FAIL:		return "SGX_MAC_COMPARE_FAIL";
	case SGX_PAGE_NOT_BLOCKED:		return "SGX_PAGE_NOT_BLOCKED";
	case SGX_NOT_TRACKED:			return "SGX_NOT_TRACKED";
	case SGX_VA_SLOT_OCCUPIED:		return "SGX_VA_SLOT_OCCUPIED";
	case SGX_CHILD_PRESENT:			return "SGX_CHILD_PRESENT";
	case SGX_ENCLAVE_ACT:			return "SGX_ENCLAVE_ACT";
	case SGX_ENTRYEPOCH_LOCKED:		return "SGX_ENTRYEPOCH_LOCKED";
	case SGX_INVALID_EINITTOKEN:		return "SGX_INVALID_EINITTOKEN";
	case SGX_PREV_TRK_INCMPL:		return "SGX_PREV_TRK_INCMPL";
	case SGX_PG_IS_SECS:			return "SGX_PG_IS_SECS";
	case SGX_PAGE_ATTRIBUTES_MISMATCH:	return "SGX_PAGE_ATTRIBUTES_MISMATCH";
	case SGX_PAGE_NOT_MODIFIABLE:		return "SGX_PAGE_NOT_MODIFIABLE";
	case SGX_PAGE_NOT_DEBUGGABLE:		return "SGX_PAGE_NOT_DEBUGGABLE";
	case SGX_INVALID_COUNTER:		return "SGX_INVALID_COUNTER";
	case SGX_PG_NONEPC:			return "SGX_PG_NONEPC";
	case SGX_TRACK_NOT_REQUIRED:		return "SGX_TRACK_NOT_REQUIRED";
	case SGX_INVALID_CPUSVN:		return "SGX_INVALID_CPUSVN";
	case SGX_INVALID_ISVSVN:		return "SGX_INVALID_ISVSVN";
	case SGX_UNMASKED_EVENT:		return "SGX_UNMASKED_EVENT";
	case SGX_INVALID_KEYNAME:		return "SGX_INVALID_KEYNAME";
	default:				return "SGX_UNKNOWN_STATUS";
	}
}
