"""The real CLI with the tiny model, as in tests/cli/ (the fault tests drive it too)."""

from tests.cli.conftest import cli  # noqa: F401
