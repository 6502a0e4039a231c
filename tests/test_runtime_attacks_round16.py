"""Round 16: spellings of the pin the proof learned this round, on the runtime guard and the
server: what they let through is exactly the request's tenant's rows. Clinic 1 has Ana and
Bruno, clinic 2 has Carla."""

from __future__ import annotations

import pytest

from tenantguard.runtime import tenant
from tests.test_runtime_attacks import CLINIC_1, Setup
from tests.test_runtime_attacks_round3 import guard_only
from tests.test_runtime_attacks_round15 import names_or_refused

__all__ = ["guard_only"]

NOT_DISTINCT = (
    "SELECT first_name FROM patients WHERE NOT (tenant_id IS DISTINCT FROM $1) ORDER BY first_name"
)


@pytest.mark.parametrize(
    ("bound", "expected"),
    [(1, CLINIC_1), (2, ["refused"]), (None, ["refused"])],
)
async def test_not_is_distinct_from_pins_to_the_bound_tenant_only(
    guard_only: Setup, bound: object, expected: list[str]
) -> None:
    """`NOT (tenant_id IS DISTINCT FROM $1)` is proven (`IS NOT DISTINCT FROM`), so it runs
    with clinic 1's id and returns clinic 1's rows; bound to clinic 2, to NULL (the rows of no
    tenant), it is refused before it reaches the server."""
    conn = await guard_only.connect()
    try:
        with tenant(1):
            got = await names_or_refused(lambda: conn.fetch(NOT_DISTINCT, bound))
        assert got == expected
    finally:
        await conn.close()
