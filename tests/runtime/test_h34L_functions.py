"""Round 34 (h34L): the database's functions under a policy written by hand, run where no
statement's text names them.

HELD (an attack tried on the finished h34C fix): an operator over a function whose body reads
every clinic's rows (`CREATE OPERATOR ||| (LEFTARG = integer, RIGHTARG = integer, FUNCTION =
names_op)`): clinic 1's `SELECT 1 ||| 1` is refused (TenantIsolationError), nothing returned.
"""

from __future__ import annotations

import asyncpg
import pytest

from tenantguard import TenantIsolationError
from tenantguard.runtime import connect, tenant
from tests.runtime.test_runtime import POLICY

OPERATOR = """
CREATE FUNCTION names_op(integer, integer) RETURNS text LANGUAGE sql STABLE
    AS $$SELECT string_agg(first_name, ',' ORDER BY first_name) FROM patients$$;
CREATE OPERATOR ||| (LEFTARG = integer, RIGHTARG = integer, FUNCTION = names_op);
"""


async def test_an_operator_over_a_function_reading_every_clinic(two_clinics: str) -> None:
    owner = await asyncpg.connect(two_clinics)
    try:
        await owner.execute(OPERATOR)
    finally:
        await owner.close()
    conn = await connect(two_clinics, policy=POLICY)
    try:
        with tenant(1), pytest.raises(TenantIsolationError):
            await conn.fetchval("SELECT 1 ||| 1")
    finally:
        await conn.close()
