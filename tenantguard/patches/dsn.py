"""Database addresses as people write them — URLs and libpq keyword strings — never shown with a password.

`postgresql://user:secret@host:5432/db?sslmode=require` and `host=h port=5432 dbname=db
password=secret` are both accepted: asyncpg gets a URL, pg_dump a keyword string with the password
in its environment (not on its command line, where `ps` shows it), and messages get `str(dsn)`,
in which the password is `***`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import asyncpg

from tenantguard._patterns import lazy_pattern
from tenantguard.patches.files import PatchUsageError

__all__ = ["Dsn", "connect"]

_KEYWORD = lazy_pattern(r"\s*([A-Za-z_]+)\s*=\s*")
_ALIASES = {"database": "dbname"}


def _keyword_value(text: str, pos: int) -> tuple[str, int]:
    """One value of a keyword DSN at `pos`: 'quoted' (\\' and \\\\ escapes) or up to a space."""
    if text.startswith("'", pos):
        value: list[str] = []
        pos += 1
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text):
                value.append(text[pos + 1])
                pos += 2
            elif char == "'":
                return "".join(value), pos + 1
            else:
                value.append(char)
                pos += 1
        raise PatchUsageError("invalid DSN: a quoted value has no closing quote")
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[pos:end], end


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN: libpq keywords (host, port, dbname, user, password, sslmode, …)."""

    params: tuple[tuple[str, str], ...]
    url_form: bool = True  # how it was written, so that messages show it the same way

    @classmethod
    def parse(cls, text: str) -> Dsn:
        text = text.strip()
        if not text:
            raise PatchUsageError("invalid DSN: it is empty")
        if "://" in text:
            dsn = cls._parse_url(text)
        elif "=" in text:
            dsn = cls._parse_keywords(text)
        else:
            raise PatchUsageError(
                "invalid DSN: write postgresql://user@host:port/database or "
                "'host=… port=… dbname=… user=…'"
            )
        dsn._check_ports()
        return dsn

    @classmethod
    def _parse_url(cls, text: str) -> Dsn:
        try:
            parts = urlsplit(text)
        except ValueError as error:
            raise PatchUsageError(f"invalid DSN: {error}") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise PatchUsageError(f"invalid DSN: the scheme is {parts.scheme!r}; use postgresql://")
        params: dict[str, str] = {}
        userinfo, _, hostinfo = parts.netloc.rpartition("@")
        if userinfo:
            user, has_password, password = userinfo.partition(":")
            if user:
                params["user"] = unquote(user)
            if has_password:
                params["password"] = unquote(password)
        hosts, ports = [], []
        for item in hostinfo.split(",") if hostinfo else []:
            host, port = item, ""
            if item.startswith("["):  # [::1]:5432
                host, _, rest = item[1:].partition("]")
                port = rest[1:] if rest.startswith(":") else ""
            elif ":" in item:
                host, port = item.rsplit(":", 1)
            hosts.append(unquote(host))
            ports.append(port)
        if any(hosts):
            params["host"] = ",".join(hosts)
        if any(ports):
            params["port"] = ",".join(ports)
        if parts.path.strip("/"):
            params["dbname"] = unquote(parts.path.lstrip("/"))
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            params[_ALIASES.get(key, key)] = value
        return cls(tuple(params.items()), url_form=True)

    @classmethod
    def _parse_keywords(cls, text: str) -> Dsn:
        params: dict[str, str] = {}
        pos = 0
        while pos < len(text):
            match = _KEYWORD.match(text, pos)
            if match is None:
                if text[pos:].strip():
                    raise PatchUsageError(
                        f"invalid DSN: expected keyword=value at character {pos + 1}"
                    )
                break
            value, pos = _keyword_value(text, match.end())
            params[_ALIASES.get(match.group(1), match.group(1))] = value
        return cls(tuple(params.items()), url_form=False)

    def _check_ports(self) -> None:
        for port in self.get("port", "").split(","):
            if not port:
                continue
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise PatchUsageError(
                    f"invalid DSN {self}: port {port} is not a port number (1-65535)"
                )

    def get(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.params if k == key), default)

    @property
    def password(self) -> str:
        return self.get("password")

    def with_database(self, name: str) -> Dsn:
        params = [(k, v) for k, v in self.params if k != "dbname"]
        return replace(self, params=(*params, ("dbname", name)))

    def without_password(self) -> Dsn:
        return replace(self, params=tuple((k, v) for k, v in self.params if k != "password"))

    def url(self) -> str:
        """The DSN as a URL asyncpg accepts (password included: never print it)."""
        params = dict(self.params)
        netloc = ""
        if "user" in params:
            netloc = quote(params.pop("user"), safe="")
            if "password" in params:
                netloc += ":" + quote(params.pop("password"), safe="")
            netloc += "@"
        query = {k: v for k, v in params.items() if k not in ("host", "port", "dbname")}
        hosts = params.get("host", "").split(",") if params.get("host") else []
        if any(h.startswith("/") for h in hosts):  # unix-socket directories go in the query
            query["host"] = params["host"]
            if params.get("port"):
                query["port"] = params["port"]
        else:
            ports = params.get("port", "").split(",") if params.get("port") else []
            items = []
            for i, host in enumerate(hosts or [""]):
                shown = f"[{host}]" if ":" in host else quote(host, safe="")
                port = ports[i] if i < len(ports) else (ports[-1] if ports else "")
                items.append(f"{shown}:{port}" if port else shown)
            netloc += ",".join(items)
        path = "/" + quote(params["dbname"], safe="") if params.get("dbname") else ""
        return f"postgresql://{netloc}{path}" + (f"?{urlencode(query)}" if query else "")

    def keywords(self) -> str:
        """The DSN as a libpq keyword string (password included: never print it)."""
        return " ".join(
            f"{k}='{v.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'"
            for k, v in self.params
        )

    def redact(self, message: str) -> str:
        """`message` with this DSN's password, should it appear, replaced by ***."""
        password = self.password
        if len(password) >= 3:  # shorter strings would mask ordinary words
            for form in {password, quote(password, safe="")}:
                message = message.replace(form, "***")
        return message

    def __str__(self) -> str:
        shown = tuple((k, "***" if k == "password" else v) for k, v in self.params)
        if self.url_form:
            return replace(self, params=shown).url().replace("%2A%2A%2A", "***")
        return " ".join(f"{k}={v}" for k, v in shown)


async def connect(target: str | Dsn, **options: Any) -> asyncpg.Connection:
    """asyncpg.connect for a DSN in either form; a malformed one is a PatchUsageError."""
    dsn = target if isinstance(target, Dsn) else Dsn.parse(target)
    try:
        return await asyncpg.connect(dsn.url(), **options)
    except (ValueError, OverflowError, asyncpg.ClientConfigurationError) as error:
        raise PatchUsageError(f"invalid DSN {dsn}: {dsn.redact(str(error))}") from None
