#ifndef CIDN2_SHIM_H
#define CIDN2_SHIM_H
#include <idn2.h>

/// Converts a NUL-terminated UTF-8 domain to its ASCII (A-label) form with UTS #46
/// non-transitional processing after NFC normalization: the flags ContactVerify uses for
/// every email domain. On `IDN2_OK`, `*output` must be released with `idn2_free`.
static inline int cidn2_domain_to_ascii(const char *input, char **output) {
    return idn2_to_ascii_8z(input, output, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
}

#endif
