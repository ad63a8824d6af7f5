#ifndef CARGON2_SHIM_H
#define CARGON2_SHIM_H
#include <argon2.h>
#include <stddef.h>
#include <stdint.h>

/// Raw argon2id, version 0x13, through argon2_ctx with every input argon2_context offers,
/// including `secret` (the server's pepper) and `ad` (associated data).
///
/// The inputs are const here: no ARGON2_FLAG_CLEAR_* flag is set, so libargon2 only reads them
/// (argon2_context merely declares them non-const). Lanes are computed on the calling thread
/// (`threads` = 1). A NULL pointer is allowed with a zero length. Returns an argon2_error_codes
/// value, ARGON2_OK (0) on success.
static inline int cargon2_argon2id(
    uint8_t *out, uint32_t outlen,
    const uint8_t *pwd, uint32_t pwdlen,
    const uint8_t *salt, uint32_t saltlen,
    const uint8_t *secret, uint32_t secretlen,
    const uint8_t *ad, uint32_t adlen,
    uint32_t t_cost, uint32_t m_cost, uint32_t lanes)
{
    argon2_context context = {0};
    context.out = out;
    context.outlen = outlen;
    context.pwd = (uint8_t *)pwd;
    context.pwdlen = pwdlen;
    context.salt = (uint8_t *)salt;
    context.saltlen = saltlen;
    context.secret = (uint8_t *)secret;
    context.secretlen = secretlen;
    context.ad = (uint8_t *)ad;
    context.adlen = adlen;
    context.t_cost = t_cost;
    context.m_cost = m_cost;
    context.lanes = lanes;
    context.threads = 1;
    context.version = ARGON2_VERSION_13;
    context.allocate_cbk = NULL;
    context.free_cbk = NULL;
    context.flags = ARGON2_DEFAULT_FLAGS;
    return argon2_ctx(&context, Argon2_id);
}

#endif
