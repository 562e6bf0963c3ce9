"""Name and label syntax checks, ported from apimachinery ``pkg/util/validation``.

Why a module of its own: object validation and the label-selector parser must
reject the same keys and values with the same messages, so both call these.
Each ``*_errors`` function returns apimachinery's messages (empty when valid);
wrapping them in causes or selector errors is the caller's job. The checks are
hand-written rather than regexes so a hostile megabyte-long value stays linear.
"""

from __future__ import annotations

_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _ALNUM | frozenset("-_.")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """validation.RegexError, including its ``'a',  or 'b', `` punctuation."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def byte_len(s: str) -> int:
    """Length in bytes, as Go's len() counts it (limits are in bytes, not characters)."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _label_ok(s: str) -> bool:
    return bool(s) and s[0] in _LOWER_ALNUM and s[-1] in _LOWER_ALNUM and all(c in _LOWER_ALNUM or c == "-" for c in s)


def _subdomain_ok(s: str) -> bool:
    return all(_label_ok(part) for part in s.split("."))


def _name_ok(s: str) -> bool:
    return bool(s) and s[0] in _ALNUM and s[-1] in _ALNUM and all(c in _NAME_CHARS for c in s)


def is_dns1123_label(s: str) -> bool:
    """Lowercase RFC 1123 label of at most 63 characters (namespace and container names)."""
    return isinstance(s, str) and len(s) <= 63 and _label_ok(s)


def is_dns1123_subdomain(s: str) -> bool:
    """Lowercase RFC 1123 subdomain of at most 253 characters (most object names)."""
    return isinstance(s, str) and len(s) <= 253 and _subdomain_ok(s)


def dns1123_label_errors(s: str) -> list[str]:
    errs = [_max_len(63)] if byte_len(s) > 63 else []
    if not _label_ok(s):
        errs.append(
            "must not contain dots"
            if _subdomain_ok(s)
            else _regex_error(_DNS_LABEL_MSG, _DNS_LABEL_FMT, "my-name", "123-abc")
        )
    return errs


def dns1123_subdomain_errors(s: str) -> list[str]:
    errs = [_max_len(253)] if byte_len(s) > 253 else []
    if not _subdomain_ok(s):
        errs.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errs


def qualified_name_errors(value: str) -> list[str]:
    """IsQualifiedName (label keys, annotation keys, finalizers): ``[dns-subdomain/]name``."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain_errors(parts[0])]
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif byte_len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _name_ok(name):
        errs.append("name part " + _regex_error(_NAME_MSG, _NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """IsValidLabelValue: empty, or a name of at most 63 characters."""
    errs = [_max_len(63)] if byte_len(value) > 63 else []
    if value and not _name_ok(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, f"({_NAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def validate_label_key(k: str) -> str | None:
    """The error detail for a bad label key (messages joined by ``; `` as the selector parser does), else None."""
    errs = qualified_name_errors(k)
    return "; ".join(errs) if errs else None


def validate_label_value(v: str) -> str | None:
    errs = label_value_errors(v)
    return "; ".join(errs) if errs else None


def object_name_errors(name: str, rule: str, prefix: bool = False) -> list[str]:
    """NameIsDNSSubdomain / NameIsDNSLabel; a generateName prefix may end in '-'."""
    if prefix and len(name) > 1 and name.endswith("-"):
        name = name[:-1] + "a"
    return dns1123_label_errors(name) if rule == "label" else dns1123_subdomain_errors(name)


def port_name_errors(name: str) -> list[str]:
    """IsValidPortName (IANA service name)."""
    errs = [_max_len(15)] if len(name) > 15 else []
    if not all(c in _LOWER_ALNUM or c == "-" for c in name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not any(c.isalpha() and c in _LOWER_ALNUM for c in name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs
