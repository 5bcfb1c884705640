"""A failed statement's error (which ends up in the logs) names the statement, never the values it carried."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from bot.deps import Deps
from bot.store.tables import Member


async def test_an_integrity_error_does_not_carry_the_rows_personal_data(deps: Deps) -> None:
    async with deps.sessions() as session:
        session.add(Member(email="private.person@example.com", name="Private Person", team_id=987654))
        with pytest.raises(IntegrityError) as caught:
            await session.commit()
    message = str(caught.value)
    assert "private.person@example.com" not in message and "Private Person" not in message
    assert "hidden due to hide_parameters" in message
