"""Hooks that give schemathesis's stateful sequences real data (loaded by
scripts/schemathesis_hooks.py).

Generated addresses are almost never ones the service accepts, so in the stateful phase
`before_call` gives each new contact a valid, unused email address and mobile number (the
stateless run fuzzes the addresses), and a sequence that starts at an operation on a contact
or verification works on the newest real one. `after_call` notes each contact's addresses
and each verification's contact, and `before_call` puts the code the outbox holds for that
address into every check whose generated code ends in an even digit, so that sequences reach
approved verifications.
"""

import itertools
import json
import os
import sys

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from outbox_secrets import Outbox  # noqa: E402

CHECK = "POST /v1/accounts/{accountId}/verifications/{verificationId}/check"
CREATE_CONTACT = "POST /v1/accounts/{accountId}/contacts"

OUTBOX = Outbox(os.environ["CV_OUTBOX"])
ADDRESSES = {}  # contact id -> {channel: address}
CONTACT_OF = {}  # verification id -> (contact id, channel)
CONTACTS_MADE = itertools.count()


def parse_json(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


@schemathesis.hook
def after_call(ctx, case, response):
    parsed = parse_json(response.content)
    items = parsed.get("items") if isinstance(parsed, dict) else None
    for value in items if isinstance(items, list) else [parsed]:
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            continue
        if value["id"].startswith("ct_"):
            ADDRESSES[value["id"]] = {channel: (value.get(member) or {}).get("address")
                                      for channel, member in (("email", "email"), ("sms", "phone"))}
        elif value["id"].startswith("vf_") and "contactId" in value:
            CONTACT_OF[value["id"]] = (value["contactId"], value.get("channel"))


@schemathesis.hook
def before_call(ctx, case, kwargs):
    stateful = case.meta is not None and case.meta.phase.name == "stateful"
    if stateful:
        use_known_ids(case)
    if not isinstance(case.body, dict):
        return
    if case.operation.label == CREATE_CONTACT and stateful:
        give_valid_addresses(case)
    elif case.operation.label == CHECK:
        give_delivered_code(case)


def use_known_ids(case):
    """A sequence that starts at an operation on a contact or verification gets the newest
    one the service made, instead of a made-up id (the stateless run covers those)."""
    parameters = case.path_parameters or {}
    for name, known in (("contactId", ADDRESSES), ("verificationId", CONTACT_OF)):
        if name in parameters and parameters[name] not in known and known:
            parameters[name] = next(reversed(known))


def give_valid_addresses(case):
    number = next(CONTACTS_MADE)
    # +86 137…: a China Mobile number, which takes SMS.
    case.body = {"name": f"Stateful {number}", "email": f"stateful{number}@example.com", "phone": f"+86137{number:08d}"}


def give_delivered_code(case):
    generated = case.body.get("code")
    if not isinstance(generated, str) or not generated[-1:].isdigit() or int(generated[-1]) % 2:
        return
    contact, channel = CONTACT_OF.get((case.path_parameters or {}).get("verificationId"), (None, None))
    address = ADDRESSES.get(contact, {}).get(channel)
    code = OUTBOX.refresh().last_code_to(address) if address else None
    if code:
        case.body = {**case.body, "code": code}
