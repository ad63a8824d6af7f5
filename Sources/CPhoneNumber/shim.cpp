// C API over libphonenumber; see include/CPhoneNumber.h.

#include "CPhoneNumber.h"

#include <cstring>
#include <set>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

/// Copies `value` with a terminating NUL; false if it does not fit.
bool copy_out(const std::string &value, char *out, size_t out_len) {
    if (out == nullptr || value.size() + 1 > out_len) {
        return false;
    }
    std::memcpy(out, value.data(), value.size());
    out[value.size()] = '\0';
    return true;
}

int status_for(PhoneNumberUtil::ErrorType error) {
    switch (error) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
        return CPN_OK;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
        return CPN_INVALID_COUNTRY_CODE;
    case PhoneNumberUtil::NOT_A_NUMBER:
        return CPN_NOT_A_NUMBER;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
        return CPN_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG_NSN:
        return CPN_TOO_LONG;
    }
    return CPN_INTERNAL_ERROR;
}

int type_for(PhoneNumberUtil::PhoneNumberType type) {
    switch (type) {
    case PhoneNumberUtil::FIXED_LINE: return CPN_TYPE_FIXED_LINE;
    case PhoneNumberUtil::MOBILE: return CPN_TYPE_MOBILE;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: return CPN_TYPE_FIXED_LINE_OR_MOBILE;
    case PhoneNumberUtil::TOLL_FREE: return CPN_TYPE_TOLL_FREE;
    case PhoneNumberUtil::PREMIUM_RATE: return CPN_TYPE_PREMIUM_RATE;
    case PhoneNumberUtil::SHARED_COST: return CPN_TYPE_SHARED_COST;
    case PhoneNumberUtil::VOIP: return CPN_TYPE_VOIP;
    case PhoneNumberUtil::PERSONAL_NUMBER: return CPN_TYPE_PERSONAL_NUMBER;
    case PhoneNumberUtil::PAGER: return CPN_TYPE_PAGER;
    case PhoneNumberUtil::UAN: return CPN_TYPE_UAN;
    case PhoneNumberUtil::VOICEMAIL: return CPN_TYPE_VOICEMAIL;
    case PhoneNumberUtil::UNKNOWN: return CPN_TYPE_UNKNOWN;
    }
    return CPN_TYPE_UNKNOWN;
}

/// The supported regions, computed once (thread-safe static initialisation).
const std::set<std::string> &supported_regions() {
    static const std::set<std::string> regions = [] {
        std::set<std::string> result;
        PhoneNumberUtil::GetInstance()->GetSupportedRegions(&result);
        return result;
    }();
    return regions;
}

}  // namespace

extern "C" int cpn_normalize(const char *input, size_t input_len, const char *region_or_null,
                             char *e164_out, size_t e164_len, int *number_type_out,
                             int *has_extension_out, char *region_out, size_t region_len) {
    if (input == nullptr || number_type_out == nullptr || has_extension_out == nullptr) {
        return CPN_INTERNAL_ERROR;
    }
    try {
        const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
        const std::string text(input, input_len);
        const std::string region = region_or_null != nullptr ? region_or_null : "ZZ";

        PhoneNumber number;
        const int parsed = status_for(util.Parse(text, region, &number));
        if (parsed != CPN_OK) {
            return parsed;
        }
        *has_extension_out = number.has_extension() && !number.extension().empty() ? 1 : 0;
        if (!util.IsValidNumber(number)) {
            return CPN_INVALID;
        }

        std::string e164;
        util.Format(number, PhoneNumberUtil::E164, &e164);
        std::string number_region;
        util.GetRegionCodeForNumber(number, &number_region);
        if (!copy_out(e164, e164_out, e164_len) ||
            !copy_out(number_region, region_out, region_len)) {
            return CPN_INTERNAL_ERROR;
        }
        *number_type_out = type_for(util.GetNumberType(number));
        return CPN_OK;
    } catch (...) {
        return CPN_INTERNAL_ERROR;
    }
}

extern "C" int cpn_is_supported_region(const char *region) {
    if (region == nullptr) {
        return 0;
    }
    try {
        return supported_regions().count(region) > 0 ? 1 : 0;
    } catch (...) {
        return 0;
    }
}
