"""What personal data looks like in text, and how to show a hit without showing the data.

The patterns run inside DuckDB (RE2), so an audit never pulls millions of values into Python;
the email and phone patterns use only syntax Python's `re` shares, so log redaction reuses them.
Phone patterns demand a phone's shape (a `+` country code, a national trunk `0`, or the North
American `(555) 555-0123` form), 9 to 15 digits, and no letter or digit glued to either end: SKUs,
EPCs, hex keys, receipt ids and timestamps in the warehouse do not look like that. Names are
matched as a known first name followed by a known last name; the dictionary is the demo
generator's, since that is the personal data this platform is tested against.
"""

from __future__ import annotations

import re

from footfall_platform.demo.words import FIRST_NAMES, LAST_NAMES

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"

_INTERNATIONAL = r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}"
_NATIONAL = r"\(?0[1-9][0-9]{0,4}\)?(?:[ .-]?[0-9]{2,4}){2,5}"
_NORTH_AMERICAN = r"\(?[2-9][0-9]{2}\)?[ .-][0-9]{3}[ .-][0-9]{4}"
# Group 1 is the number; the ends must not touch a letter or digit (no lookbehind in RE2).
PHONE = (
    rf"(?:^|[^0-9A-Za-z+])((?:{_INTERNATIONAL}|{_NATIONAL}|{_NORTH_AMERICAN}))(?:$|[^0-9A-Za-z])"
)
PHONE_DIGITS = (9, 15)  # E.164 allows 15; fewer than 9 is a date, a time or a small number
# A candidate shaped like a date (01.02.2024 10:30, 2024-03-01) is not a phone number.
DATE_LIKE = r"^(?:[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}|[0-9]{4}-[0-9]{2}-[0-9]{2})"


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


FIRST = f"(?:{_alternatives(FIRST_NAMES)})"
LAST = f"(?:{_alternatives(LAST_NAMES)})"
# RE2's \b knows ASCII only and names carry accents, so a name must not touch a Latin letter.
# (Not \pL: RE2 compiles Unicode classes slowly, once per column and query.)
_NOT_LETTER = "[^A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]"
FULL_NAME = rf"(?:^|{_NOT_LETTER})({FIRST}[ \t]+{LAST})(?:$|{_NOT_LETTER})"
LEADING_FIRST_NAME = rf"^[ \t]*({FIRST})(?:$|{_NOT_LETTER})"

# Columns that hold personal data by their very name: any value in them is a finding.
PERSONAL_COLUMNS = frozenset({
    "full_name", "first_name", "last_name", "given_name", "surname", "family_name",
    "email", "email_address", "e_mail", "phone", "phone_number", "mobile", "telephone",
    "birth_date", "date_of_birth", "dob", "birthday", "address", "street", "member_id",
    "ip_address", "iban", "national_id", "passport",
})  # fmt: skip
# Columns whose values are checked for a lone first name (a store or product is also a "name",
# so these columns are not findings by name alone).
NAME_COLUMNS = frozenset({"name", "customer_name", "member_name", "contact_name", "customer"})
# A JSON field (a quarantined record) named like a personal column must be null or redacted.
JSON_PERSONAL_FIELD = (
    '"(?:' + "|".join(sorted(PERSONAL_COLUMNS - {"member_id"})) + r')"\s*:\s*"[^"<]'
)
# member_id fields must carry the member_key (64 lower-case hex digits), never the raw id.
JSON_RAW_MEMBER_ID = r'"member_id"\s*:\s*"(?:[^"]*[^0-9a-f"][^"]*|[0-9a-f]{0,63}|[0-9a-f]{65,})"'



def mask_email(value: str) -> str:
    """j***@***.com: enough to recognise the kind of leak, nothing to identify anyone."""
    local, _, domain = value.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@***.{tld}"


def mask_phone(value: str) -> str:
    digits = re.sub(r"[^0-9]", "", value)
    start = "+" if value.lstrip().startswith("+") else ""
    return f"{start}{digits[:1]}***{digits[-2:]}"


def mask_name(value: str) -> str:
    return " ".join(f"{part[:1]}***" for part in value.split())


def mask_any(value: str) -> str:
    return f"{value.strip()[:1]}***" if value.strip() else "***"


MASKS = {"email": mask_email, "phone": mask_phone, "name": mask_name}

_EMAIL_RE = re.compile(EMAIL)
_PHONE_RE = re.compile(PHONE)
_DATE_RE = re.compile(DATE_LIKE)


def _phone_or_text(match: re.Match[str]) -> str:
    number = match.group(1)
    digits = sum(ch.isdigit() for ch in number)
    if not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1] or _DATE_RE.match(number):
        return match.group(0)
    return match.group(0).replace(number, mask_phone(number))


def redact(text: str) -> str:
    """The text with every email address and phone number masked (for log lines)."""
    if "@" in text:
        text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE_RE.sub(_phone_or_text, text)
