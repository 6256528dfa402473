"""The README's measured tables are rendered from the records committed under results/
(benchmark/report/readme.py): a README that differs from its records fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.core.errors import UserError
from benchmark.report.readme import BLOCKS, block_names, rendered_readme

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_every_readme_block_is_what_its_records_render():
    text = README.read_text(encoding="utf-8")
    assert set(block_names(text)) == set(BLOCKS)
    assert rendered_readme(text, ROOT) == text, "README differs from its records: make readme"


def test_readme_check_fails_on_an_edited_number(tmp_path):
    """Copy the README and the records it names, change one digit of the demo table: the
    check exits 1, and re-rendering puts the recorded number back."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- begin readme-block demo -->")
    row = text.index("| `image.attr_acc[", start)
    digit = text.index("0.", row) + 2
    edited = text[:digit] + ("1" if text[digit] != "1" else "2") + text[digit + 1:]
    for results in {block.results for block in BLOCKS.values()}:  # blocks may share one
        (tmp_path / results).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / results).symlink_to(ROOT / results)
    (tmp_path / "README.md").write_text(edited, encoding="utf-8")
    assert main(["readme", "--readme", str(tmp_path / "README.md"), "--check"]) == 1
    assert main(["readme", "--readme", str(tmp_path / "README.md")]) == 0
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == text


def test_a_block_without_a_renderer_is_refused():
    with pytest.raises(UserError, match="no renderer"):
        rendered_readme("<!-- begin readme-block nope -->\nx\n<!-- end readme-block nope -->\n",
                        ROOT)
