#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

/// A tiny C API over Google's libphonenumber (C++), for Swift.
///
/// Every function is safe to call from any thread; none lets a C++ exception escape.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of `cpn_normalize`.
typedef enum cpn_status {
    /// Parsed and valid: the outputs are filled in.
    CPN_OK = 0,
    /// Not a phone number at all (libphonenumber `NOT_A_NUMBER`).
    CPN_NOT_A_NUMBER = 1,
    /// No usable country: not in `+` form and no (known) default region, or an unknown
    /// country calling code (libphonenumber `INVALID_COUNTRY_CODE_ERROR`).
    CPN_INVALID_COUNTRY_CODE = 2,
    /// Too few digits (libphonenumber `TOO_SHORT_AFTER_IDD` or `TOO_SHORT_NSN`).
    CPN_TOO_SHORT = 3,
    /// Too many digits (libphonenumber `TOO_LONG_NSN`).
    CPN_TOO_LONG = 4,
    /// Parsed, but not a valid number for its region (`IsValidNumber` is false).
    CPN_INVALID = 5,
    /// An output buffer is too small, an argument is NULL, or the library failed internally.
    CPN_INTERNAL_ERROR = 6
} cpn_status;

/// Number types, in the order of libphonenumber's `PhoneNumberUtil::PhoneNumberType`.
typedef enum cpn_number_type {
    CPN_TYPE_FIXED_LINE = 0,
    CPN_TYPE_MOBILE = 1,
    CPN_TYPE_FIXED_LINE_OR_MOBILE = 2,
    CPN_TYPE_TOLL_FREE = 3,
    CPN_TYPE_PREMIUM_RATE = 4,
    CPN_TYPE_SHARED_COST = 5,
    CPN_TYPE_VOIP = 6,
    CPN_TYPE_PERSONAL_NUMBER = 7,
    CPN_TYPE_PAGER = 8,
    CPN_TYPE_UAN = 9,
    CPN_TYPE_VOICEMAIL = 10,
    CPN_TYPE_UNKNOWN = 11
} cpn_number_type;

/// Parses `input` (UTF-8, `input_len` bytes, need not be NUL-terminated) with libphonenumber.
///
/// `region_or_null` is the upper-case ISO 3166 alpha-2 region used to read national formats;
/// NULL means "no region" (libphonenumber's "ZZ"): only `+` international input then parses.
///
/// Whenever parsing succeeds (status `CPN_OK` or `CPN_INVALID`), `*has_extension_out` says
/// whether the input carried an extension. On `CPN_OK` only, `e164_out` receives the E.164
/// string, `*number_type_out` a `cpn_number_type`, and `region_out` the region of the number
/// (`"001"` for non-geographic entities, `"ZZ"` when unknown). All strings are NUL-terminated.
/// Buffers of 32 bytes (E.164) and 8 bytes (region) are always enough.
int cpn_normalize(const char *input, size_t input_len, const char *region_or_null,
                  char *e164_out, size_t e164_len, int *number_type_out,
                  int *has_extension_out, char *region_out, size_t region_len);

/// Returns 1 if `region` (NUL-terminated) is a geographic region libphonenumber has metadata
/// for (upper-case ISO 3166 alpha-2, e.g. "GB"), 0 otherwise. "001" and "ZZ" give 0.
int cpn_is_supported_region(const char *region);

#ifdef __cplusplus
}
#endif

#endif /* CPHONENUMBER_H */
