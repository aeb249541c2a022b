"""The rows an answer that came back gets (errormap.for_answer): the special cases of an
answer are rows of the one table, not branches of the client."""

from __future__ import annotations

import pytest

from soarpack import errors
from soarpack.http import errormap
from soarpack.manifest import StatusOverride


@pytest.mark.parametrize("status", [100, 200, 204, 299])
def test_a_success_has_no_row(status: int) -> None:
    assert errormap.for_answer(status) is None


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_the_redirect_row(status: int) -> None:
    assert errormap.for_answer(status) is errormap.FAILURES["redirect"]


def test_a_403_that_says_the_credential_is_wrong_is_an_authentication_error() -> None:
    plain = errormap.for_status(403)
    row = errormap.for_answer(403, bad_credential=True)
    assert row is not None and row.error is errors.AuthenticationError
    assert (row.processed, row.transient, row.hint) == (
        plain.processed,
        plain.transient,
        plain.hint,
    )
    assert errormap.for_answer(403) == plain


def test_the_credential_row_keeps_an_overrides_hint() -> None:
    overrides = {403: StatusOverride(error="not_found", hint="Ask the admin.")}
    row = errormap.for_answer(403, overrides, bad_credential=True)
    assert (
        row is not None and row.error is errors.AuthenticationError and row.hint == "Ask the admin."
    )


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_other_statuses_ignore_the_vendors_words(status: int) -> None:
    assert errormap.for_answer(status, bad_credential=True) == errormap.for_status(status)


def test_a_credential_refused_inside_a_200_is_its_own_row() -> None:
    row = errormap.FAILURES["vendor_credential"]
    assert row.error is errors.AuthenticationError and (row.processed, row.transient) == (
        True,
        False,
    )
