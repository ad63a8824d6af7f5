"""The secrets ContactVerify delivered through its file transport (`<data>/outbox`).

The file transport writes each email as `outbox/email/<message id>.eml` and appends each SMS
as a JSON line to `outbox/sms.jsonl` (Sources/ContactVerifyDelivery/Transports/FileTransport.swift).
`Outbox` reads both as they grow and keeps every verification code and link token it has
seen, with the recipient of each. Used by scripts/schemathesis_hooks.py (no secret in a
response) and scripts/flood (right codes to check).

A link token is the path segment after `/verify/`. A code is, in an email's plain text, the
line that holds only the code (indented by four spaces in every template of templates/), and
in an SMS without a link, the last run of 4–10 digits (the account name comes first).
"""

import email
import email.policy
import json
import os
import re

TOKEN = re.compile(r"/verify/([A-Za-z0-9_-]{20,})")
EMAIL_CODE_LINE = re.compile(r"^ {4}([0-9]{4,10})\s*$", re.M)
DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{4,10}(?![0-9])")


def secrets_in_text(text, is_email):
    """(codes, tokens) found in one message's text."""
    tokens = TOKEN.findall(text)
    if tokens:
        return [], tokens
    if is_email:
        return EMAIL_CODE_LINE.findall(text), []
    runs = DIGIT_RUN.findall(text)
    return runs[-1:], []


def email_text(path):
    with open(path, "rb") as file:
        message = email.message_from_binary_file(file, policy=email.policy.default)
    part = message.get_body(("plain",))
    return str(message["To"]), part.get_content() if part is not None else ""


class Outbox:
    """The secrets delivered so far; `refresh()` reads what was written since the last call."""

    def __init__(self, directory):
        self.directory = directory
        self.codes = {}  # code -> recipient, in delivery order
        self.tokens = {}  # token -> recipient
        self._sms_offset = 0
        self._emails_read = set()

    def refresh(self):
        self._read_sms()
        self._read_emails()
        return self

    def _add(self, recipient, text, is_email):
        codes, tokens = secrets_in_text(text, is_email)
        for code in codes:
            self.codes.pop(code, None)  # a resend moves the code to the end
            self.codes[code] = recipient
        for token in tokens:
            self.tokens[token] = recipient

    def _read_sms(self):
        try:
            with open(os.path.join(self.directory, "sms.jsonl"), "rb") as file:
                file.seek(self._sms_offset)
                data = file.read()
        except FileNotFoundError:
            return
        complete = data[:data.rfind(b"\n") + 1]  # a line is appended in one write; keep whole ones
        self._sms_offset += len(complete)
        for line in complete.splitlines():
            if line.strip():
                record = json.loads(line)
                self._add(record["to"], record["text"], is_email=False)

    def _read_emails(self):
        folder = os.path.join(self.directory, "email")
        try:
            names = sorted(os.listdir(folder), key=lambda n: os.path.getmtime(os.path.join(folder, n)))
        except FileNotFoundError:
            return
        # The transport renames a complete .eml into place, so a listed .eml is whole.
        for name in names:
            if name.endswith(".eml") and name not in self._emails_read:
                self._emails_read.add(name)
                recipient, text = email_text(os.path.join(folder, name))
                self._add(recipient, text, is_email=True)

    def last_code_to(self, recipient):
        """The newest code delivered to `recipient` (as written in the message), or None."""
        found = [code for code, to in self.codes.items() if to == recipient]
        return found[-1] if found else None
