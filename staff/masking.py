"""Personal data as an analyst sees it: enough to tell rows apart, not enough to reach a person."""

import re


def mask_phone(phone: str) -> str:
    """+8613800138000 -> 138****8000: the national number's first three and last four digits."""
    digits = re.sub(r"\D", "", phone or "")
    if phone.startswith("+86") or (len(digits) == 13 and digits.startswith("86")):
        digits = digits[2:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_email(email: str) -> str:
    """zhang.wei@example.com -> z***@example.com."""
    local, at, domain = (email or "").partition("@")
    if not at:
        return "*" * len(local)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """张伟 -> 张*, Wei Zhang -> W*********: the first character only."""
    name = name or ""
    return name[:1] + "*" * (len(name) - 1)
