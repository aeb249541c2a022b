"""The README's generated blocks (action catalogue, exit codes) are never stale."""

from __future__ import annotations

from soarpack import docs, readme
from soarpack.pack import Pack
from tests.conftest import REPO


def test_readme_generated_blocks_are_current(pack: Pack) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.update_readme(text, pack) == text, "run: soarpack docs readme --write README.md"


def test_catalogue_lists_every_action(pack: Pack) -> None:
    catalogue = docs.catalogue_markdown(pack)
    for name in pack.actions:
        assert f"`{name}`" in catalogue


def test_describe_names_required_inputs_and_chainable_outputs(pack: Pack) -> None:
    text = docs.describe_text(pack, pack.action("netskope.alerts.report"))
    assert "groupby  (required, string" in text
    text = docs.describe_text(pack, pack.action("netskope.clients.list"))
    assert "/clients/*/users/*/username [email]" in text
    assert "username  (optional, string" in text and "semantic email" in text
