"""Exceptions of the public API."""

from __future__ import annotations

__all__ = ["ConfigError", "TenantIsolationError"]


class ConfigError(Exception):
    """The configuration is wrong; the message names the key or file and what to do."""


class TenantIsolationError(Exception):
    """A statement was blocked because it is not proven to stay within the request's tenant."""

    def __init__(
        self,
        message: str,
        *,
        rule: str = "",
        statement: str = "",
        reference: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.statement = statement
        self.reference = reference
        self.hint = hint
