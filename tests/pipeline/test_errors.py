"""``errors.first_line``: the one rule for the telling line of an error chain, which every one-line message uses."""

import itertools

from pipeline.errors import first_line


def _chain(*errors: BaseException) -> BaseException:
    """``errors[0]`` raised from ``errors[1]`` raised from ...: the chain ``causes`` walks."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def test_the_error_itself_by_default_its_first_non_blank_line() -> None:
    error = _chain(ValueError("\n  top says this\nand more"), OSError("bottom"))
    assert first_line(error) == "top says this"


def test_the_first_error_that_prefer_accepts_down_the_chain() -> None:
    error = _chain(RuntimeError("wrapped"), KeyError("middle"), OSError("No space left on device"))
    assert first_line(error, prefer=lambda e: isinstance(e, OSError)) == "No space left on device"
    assert first_line(error, prefer=lambda e: isinstance(e, TypeError)) == "wrapped"  # none accepted


def test_deepest_skips_causes_that_say_nothing() -> None:
    error = _chain(RuntimeError("(psycopg2.OperationalError) wrapped"), ConnectionError("server closed"), OSError())
    assert first_line(error, deepest=True) == "server closed"  # OSError() says only ()


def test_a_silent_error_gives_its_type_and_a_long_line_is_cut() -> None:
    assert first_line(ValueError()) == "ValueError"
    assert first_line(ValueError("x" * 1000), limit=10) == "x" * 10
