"""Pure-Python cookie kernel: npm ``cookie`` 0.7.2 parse and serialize.

This module is the specification of its compiled twin, src_c/_cookies_c.pyx.
Errors that JS raises as TypeError for a bad argument value are ValueError here.
"""

from __future__ import annotations

from math import floor
from operator import index

from ._dates_py import http_date

__all__ = ["CookieTemplate", "encode", "lookup", "parse", "serialize"]

_URI_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
# Byte (as a latin-1 character) to its encodeURIComponent text.
_ENCODE = [chr(b) if chr(b) in _URI_SAFE else f"%{b:02X}" for b in range(256)]
_HEX = "0123456789abcdefABCDEF"
_HEX_BYTE = {a + b: int(a + b, 16) for a in _HEX for b in _HEX}
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_PATH = frozenset(chr(c) for c in range(0x20, 0x7F) if c not in (0x3B, 0x3C))
_LABEL = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
_PRIORITY = {"low": "; Priority=Low", "medium": "; Priority=Medium", "high": "; Priority=High"}
_SAME_SITE = {"strict": "; SameSite=Strict", "lax": "; SameSite=Lax", "none": "; SameSite=None"}
_MAX_DATE = 8.64e12  # seconds either side of the epoch that a JS Date can hold


# ---- parse ------------------------------------------------------------------


def _decode(value: str) -> str:
    # decodeURIComponent (called when there is a "%"); any failure keeps the raw value.
    parts = value.split("%")
    out = [parts[0]]
    run = bytearray()
    for part in parts[1:]:
        byte = _HEX_BYTE.get(part[:2])
        if byte is None:
            return value
        run.append(byte)
        if len(part) > 2:
            try:
                out.append(run.decode())
            except UnicodeDecodeError:
                return value
            run.clear()
            out.append(part[2:])
    try:
        out.append(run.decode())
    except UnicodeDecodeError:
        return value
    return "".join(out)


def _check_header(header: str) -> None:
    if not isinstance(header, str):
        raise TypeError("argument str must be a string")


def _pairs(header: str, name: str | None) -> dict[str, str] | str | None:
    """The indexOf scan of cookie 0.7.2.

    With ``name`` None, every pair into a dict (first wins); otherwise the value
    of the first pair called ``name``, or None.
    """
    found: dict[str, str] = {}
    size = len(header)
    if size < 2:
        return found if name is None else None
    pos = 0
    while pos < size:
        eq = header.find("=", pos)
        if eq < 0:
            break
        end = header.find(";", pos)
        if end < 0:
            end = size
        elif eq > end:
            # A segment without "=": restart after the last ";" before this "=".
            pos = header.rfind(";", 0, eq) + 1
            continue
        key = header[pos:eq].strip(" \t")
        # JS assigns into a plain object, where "__proto__" is the prototype setter.
        if key != "__proto__" and (key == name if name is not None else key not in found):
            value = header[eq + 1 : end].strip(" \t")
            if value[:1] == '"' and value[-1:] == '"':
                value = value[1:-1]
            if "%" in value:
                value = _decode(value)
            if name is not None:
                return value
            found[key] = value
        pos = end + 1
    return found if name is None else None


def parse(header: str) -> dict[str, str]:
    """Every cookie in a Cookie header, as cookie 0.7.2 ``parse`` gives them."""
    _check_header(header)
    result = _pairs(header, None)
    assert isinstance(result, dict)
    return result


def lookup(header: str, name: str) -> str | None:
    """``parse(header).get(name)``, stopping at the first cookie called ``name``."""
    _check_header(header)
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    result = _pairs(header, name)
    assert not isinstance(result, dict)
    return result


# ---- serialize --------------------------------------------------------------


def encode(value: str) -> str:
    """JS ``encodeURIComponent``: ValueError (JS URIError) on a surrogate."""
    if not isinstance(value, str):
        raise TypeError("value must be a string")
    if value.isascii():
        return value.translate(_ENCODE)
    try:
        data = value.encode()
    except UnicodeEncodeError:
        raise ValueError("URI malformed") from None
    # str.translate runs in C; latin-1 maps each UTF-8 byte to one character.
    return data.decode("latin-1").translate(_ENCODE)


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError("argument name is invalid")
    if not name or not _TOKEN.issuperset(name):
        raise ValueError("argument name is invalid")


def _opt_str(value: str | None, option: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"option {option} is invalid")
    return value


def _domain_attr(domain: str | None) -> str:
    domain = _opt_str(domain, "domain")
    if not domain:
        return ""
    labels = (domain[1:] if domain[0] == "." else domain).split(".")
    for label in labels:
        if not (
            0 < len(label) <= 63
            and _LABEL.issuperset(label)
            and label[0] != "-"
            and label[-1] != "-"
        ):
            raise ValueError("option domain is invalid")
    return "; Domain=" + domain


def _path_attr(path: str | None) -> str:
    path = _opt_str(path, "path")
    if not path:
        return ""
    if not _PATH.issuperset(path):
        raise ValueError("option path is invalid")
    return "; Path=" + path


def _choice_attr(value: str | None, option: str, choices: dict[str, str]) -> str:
    value = _opt_str(value, option)
    if not value:
        return ""
    try:
        return choices[value]
    except KeyError:
        raise ValueError(f"option {option} is invalid") from None


def _flags(http_only: bool, secure: bool, partitioned: bool) -> str:
    return (
        ("; HttpOnly" if http_only else "")
        + ("; Secure" if secure else "")
        + ("; Partitioned" if partitioned else "")
    )


def _expires_second(expires: float) -> int:
    if not isinstance(expires, (int, float)):
        raise TypeError("option expires is invalid")
    seconds = float(expires)
    if not -_MAX_DATE <= seconds <= _MAX_DATE:  # NaN fails too
        raise ValueError("option expires is invalid")
    return floor(seconds)


def serialize(
    name: str,
    value: str,
    max_age: int | None,
    domain: str | None,
    path: str | None,
    expires: float | None,
    http_only: bool,
    secure: bool,
    partitioned: bool,
    priority: str | None,
    same_site: str | None,
) -> str:
    """cookie 0.7.2 ``serialize`` with the default encoder, checks in its order."""
    _check_name(name)
    # encodeURIComponent only emits cookie-octets, so 0.7.2's value check cannot fail.
    text = name + "=" + encode(value)
    if max_age is not None:
        text += "; Max-Age=" + str(index(max_age))
    text += _domain_attr(domain) + _path_attr(path)
    if expires is not None:
        text += "; Expires=" + http_date(_expires_second(expires))
    return (
        text
        + _flags(http_only, secure, partitioned)
        + _choice_attr(priority, "priority", _PRIORITY)
        + _choice_attr(same_site, "sameSite", _SAME_SITE)
    )


class CookieTemplate:
    """A Set-Cookie line whose name and attributes are checked and joined once."""

    __slots__ = ("_head", "_middle", "_tail", "_date")

    def __init__(
        self,
        name: str,
        domain: str | None,
        path: str | None,
        http_only: bool,
        secure: bool,
        partitioned: bool,
        priority: str | None,
        same_site: str | None,
    ) -> None:
        _check_name(name)
        self._head = name + "="
        self._middle = _domain_attr(domain) + _path_attr(path)
        self._tail = (
            _flags(http_only, secure, partitioned)
            + _choice_attr(priority, "priority", _PRIORITY)
            + _choice_attr(same_site, "sameSite", _SAME_SITE)
        )
        # (second, "; Expires=<date>") of the last render: one tuple, swapped whole,
        # so concurrent renders never see a second paired with another's date.
        self._date: tuple[int, str] = (0, "; Expires=" + http_date(0))

    def render(self, value: str, expires: float | None) -> str:
        """``serialize(name, value, None, domain, path, expires, ...)``."""
        text = self._head + encode(value) + self._middle
        if expires is None:
            return text + self._tail
        second = _expires_second(expires)
        date = self._date
        if date[0] != second:
            date = self._date = (second, "; Expires=" + http_date(second))
        return text + date[1] + self._tail
