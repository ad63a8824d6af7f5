#!/usr/bin/env python3
"""Reference results for ContactVerify's phone number normalization.

Generates a deterministic (seeded) set of varied phone number inputs across many regions
and prints, for each, what ContactVerify must answer according to the Python
`phonenumbers` package (8.12.57, the same metadata as Debian's libphonenumber 8.12.57)
under ContactVerify's documented policy (design §2, PhoneNumberNormalizer):

  1. more than 64 characters                          -> invalid (phone_too_long)
  2. control characters, `*` or `#` (ASCII/full-width) -> invalid
  3. parse with the default region (None = no region); parse errors -> invalid
     (a national number with no region is invalid: region_required, never guessed)
  4. an extension                                      -> invalid (phone_extension_not_allowed)
  5. any letter (vanity numbers, `tel:` URIs)          -> invalid
  6. not is_valid_number                               -> invalid
  7. the E.164 string parsed again (no region) until it gives itself, at most 3 times
     (libphonenumber writes some Mexican numbers as an E.164 string it reads differently);
     one that does not settle, or stops being a valid number   -> invalid
  8. more than 15 digits (the E.164 maximum)           -> invalid
  9. otherwise valid, with the E.164 string

Output: one JSON object per line,
  {"input": str, "region": str or null, "valid": bool, "e164": str or null}
A summary goes to stderr. Tests/ContactVerifyCoreTests/PhoneOracleTests.swift runs this
script and compares every line with the Swift normalizer.

Usage: phone_oracle.py [--seed N] [--any-version]
"""

import argparse
import json
import random
import re
import sys
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType

MAX_INPUT_LENGTH = 64
MAX_E164_DIGITS = 15
MAX_STABLE_PASSES = 3
# Debian bookworm's libphonenumber, which the service links, carries this metadata version.
METADATA_VERSION = "8.12.57"

REGIONS = [
    "US", "CA", "GB", "IE", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "SE", "NO", "PL",
    "RU", "UA", "TR", "CN", "JP", "KR", "IN", "ID", "SG", "HK", "AU", "NZ", "BR", "AR", "MX",
    "ZA", "NG", "EG", "AE", "SA", "IL",
]

TYPES = [
    PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.PAGER, PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]

FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789+-()."}
FULL_WIDTH[ord(" ")] = 0x3000


# MARK: policy

def expected(text, region):
    """ContactVerify's answer for `text` with default region `region`: E.164 or None."""
    if len(text) > MAX_INPUT_LENGTH:
        return None
    if any(unicodedata.category(c) == "Cc" for c in text):
        return None
    if any(c in "*#\uff0a\uff03" for c in text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if number.extension:
        return None
    if any(unicodedata.category(c).startswith("L") for c in text):
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = stable_e164(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    if e164 is None or len(e164) - 1 > MAX_E164_DIGITS:
        return None
    return e164


def stable_e164(e164):
    """The E.164 string that parses back as itself, starting from `e164`, or None."""
    for _ in range(MAX_STABLE_PASSES):
        try:
            number = phonenumbers.parse(e164, None)
        except NumberParseException:
            return None
        if number.extension or not phonenumbers.is_valid_number(number):
            return None
        again = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if again == e164:
            return e164
        e164 = again
    return None


# MARK: generation helpers

def idd_prefix(region):
    """A dialable international call prefix for `region`, or None."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata.preferred_international_prefix:
        return metadata.preferred_international_prefix.replace("~", "")
    pattern = metadata.international_prefix
    if pattern and pattern.isdigit():
        return pattern
    for length in range(2, 6):
        for value in range(10 ** length):
            candidate = str(value).zfill(length)
            if re.fullmatch(pattern, candidate):
                return candidate
    return None


def group(digits, rng, separators):
    """`digits` split into random groups of 1-4 joined by separators chosen from `separators`."""
    parts = []
    i = 0
    while i < len(digits):
        size = rng.randint(1, 4)
        parts.append(digits[i:i + size])
        i += size
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice(separators) + part
    return out


def change_one_digit(digits, rng):
    i = rng.randrange(len(digits))
    replacement = rng.choice([d for d in "0123456789" if d != digits[i]])
    return digits[:i] + replacement + digits[i + 1:]


def random_digits(rng, low, high):
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(low, high)))


def vanity(digits, rng):
    """`digits` with a run of its last digits written as phone-keypad letters."""
    letters = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS",
               "8": "TUV", "9": "WXYZ"}
    out = list(digits)
    for i in range(max(0, len(out) - rng.randint(3, 7)), len(out)):
        if out[i] in letters:
            out[i] = rng.choice(letters[out[i]])
    return "".join(out)


# MARK: cases

def cases(rng):
    """Yields (input, region) pairs."""
    idd = {region: idd_prefix(region) for region in REGIONS}
    for region in REGIONS:
        numbers = []
        for number_type in TYPES:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None and example not in numbers:
                numbers.append(example)
        invalid_example = phonenumbers.invalid_example_number(region)

        for number in numbers:
            cc = str(number.country_code)
            nsn = phonenumbers.national_significant_number(number)
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            national_digits = re.sub(r"\D", "", national)
            other = rng.choice([r for r in REGIONS if r != region])

            yield e164, None
            yield e164, region
            yield e164, other
            yield international, None
            yield international, region
            yield national, region
            yield national, None
            yield national, other
            yield national_digits, region
            yield nsn, region
            yield cc + nsn, region
            yield "  " + international + " ", None
            yield "\t" + national + "  ", region
            if idd[region]:
                yield idd[region] + cc + nsn, region
                yield idd[region] + " " + cc + " " + group(nsn, rng, " "), region
                yield idd[region] + cc + nsn, None
            if idd[other]:
                yield idd[other] + cc + nsn, other
            yield "00" + cc + nsn, rng.choice(REGIONS)
            # separators and parentheses
            yield "+" + cc + " " + group(nsn, rng, [" ", "-", "."]), None
            yield "+" + cc + "-" + group(nsn, rng, ["-"]), rng.choice([None, region])
            yield "+" + cc + " (" + nsn[:3] + ") " + group(nsn[3:], rng, [" ", "-"]), None
            yield group(national_digits, rng, [" ", "-", ".", "/"]), region
            yield "(" + national_digits[:3] + ") " + group(national_digits[3:], rng, ["-", " "]), region
            yield "+" + cc + " (0)" + group(nsn, rng, [" "]), None
            yield "+" + cc + "." + group(nsn, rng, ["."]), None
            # invalid lengths
            cut = rng.randint(1, 3)
            yield "+" + cc + nsn[:-cut], None
            yield national_digits[:-cut], region
            extra = random_digits(rng, 1, 3)
            yield "+" + cc + nsn + extra, None
            yield national_digits + extra, region
            yield "+" + cc + nsn + random_digits(rng, 6, 9), None  # more than 15 digits
            yield "+" + cc + change_one_digit(nsn, rng), None
            yield change_one_digit(national_digits, rng), region
            # forms the policy refuses
            yield international + rng.choice([" x12", " ext. 123", ";ext=45", " extension 7", " #9"]), region
            yield national + " x" + random_digits(rng, 1, 4), region
            yield vanity(international, rng), None
            yield vanity(national, rng), region
            yield "tel:" + e164, None
            yield "*" + nsn, region
            yield e164 + "#", None
            yield international + " " * (MAX_INPUT_LENGTH - len(international) + rng.randint(0, 2)), None
            yield e164[:5] + "\n" + e164[5:], None
            yield e164[:6] + "\u0000" + e164[6:], None
            # non-ASCII digits
            yield international.translate(FULL_WIDTH), None
            yield national.translate(FULL_WIDTH), region

        if invalid_example is not None:
            cc = str(invalid_example.country_code)
            nsn = phonenumbers.national_significant_number(invalid_example)
            yield "+" + cc + nsn, None
            yield phonenumbers.format_number(invalid_example, PhoneNumberFormat.NATIONAL), region

        # random digit strings
        cc = str(phonenumbers.country_code_for_region(region))
        for _ in range(25):
            yield random_digits(rng, 3, 17), region
            yield "+" + cc + random_digits(rng, 4, 13), None
            yield "+" + random_digits(rng, 5, 16), rng.choice([None, region])
            yield "0" + group(random_digits(rng, 6, 11), rng, [" ", "-"]), rng.choice([None, region])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--any-version", action="store_true",
                        help=f"run even if phonenumbers is not {METADATA_VERSION}")
    args = parser.parse_args()
    if phonenumbers.__version__ != METADATA_VERSION and not args.any_version:
        sys.exit(f"phone_oracle: phonenumbers {phonenumbers.__version__} is installed, but the "
                 f"service links libphonenumber {METADATA_VERSION}: run scripts/install-deps")

    rng = random.Random(args.seed)
    seen = set()
    count = valid = 0
    regions = set()
    for text, region in cases(rng):
        if (text, region) in seen:
            continue
        seen.add((text, region))
        e164 = expected(text, region)
        print(json.dumps({"input": text, "region": region, "valid": e164 is not None, "e164": e164}))
        count += 1
        valid += e164 is not None
        if region is not None:
            regions.add(region)
    print(f"phone_oracle: {count} cases, {valid} valid, {len(regions)} regions, "
          f"phonenumbers {phonenumbers.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
