"""The measured tables of README.md and docs/*.md are rendered from the records committed
under results/ (benchmark/report/readme.py): a document that differs from its records fails here,
and so does a block that no document holds any more."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.core.errors import UserError
from benchmark.report.readme import BLOCKS, block_names, documents, lost_blocks, rendered_readme
from support.paths import ROOT


def test_the_documents_are_the_readme_and_every_docs_page():
    names = [path.relative_to(ROOT).as_posix() for path in documents(ROOT)]
    assert names[0] == "README.md"
    assert names[1:] == sorted(p.relative_to(ROOT).as_posix()
                               for p in (ROOT / "docs").glob("*.md"))


def test_every_block_is_in_some_document_and_is_what_its_records_render():
    rendered: dict[str, str] = {}
    found = []
    for path in documents(ROOT):
        text = path.read_text(encoding="utf-8")
        found += block_names(text)
        assert rendered_readme(text, ROOT, rendered) == text, (
            f"{path.relative_to(ROOT)} differs from its records: make readme")
    assert set(found) == set(BLOCKS), "a block is in no document, or has no renderer"


def _copy_documents(tmp_path: Path) -> dict[Path, str]:
    """README.md, docs/*.md and the results folders they name, under ``tmp_path``."""
    texts = {}
    for path in documents(ROOT):
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        texts[copy] = path.read_text(encoding="utf-8")
    for results in {block.results for block in BLOCKS.values()}:  # blocks may share one
        (tmp_path / results).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / results).symlink_to(ROOT / results)
    return texts


def test_readme_check_fails_on_an_edited_number(tmp_path):
    """Copy the documents and the records they name, change one digit of the demo table:
    the check exits 1, and re-rendering puts the recorded number back, in every file."""
    texts = _copy_documents(tmp_path)
    readme = tmp_path / "README.md"
    text = texts[readme]
    start = text.index("<!-- begin readme-block demo -->")
    row = text.index("| `image.attr_acc[", start)
    digit = text.index("0.", row) + 2
    readme.write_text(text[:digit] + ("1" if text[digit] != "1" else "2") + text[digit + 1:],
                      encoding="utf-8")
    assert main(["readme", "--root", str(tmp_path), "--check"]) == 1
    assert main(["readme", "--root", str(tmp_path)]) == 0
    for path, original in texts.items():
        assert path.read_text(encoding="utf-8") == original, path


def test_a_docs_page_is_rendered_from_records_under_the_repository_root(tmp_path):
    """A block in docs/ names its records relative to the repository root, not to docs/:
    an edited number there fails the check of that one file (--file), and rendering that
    file alone puts it back."""
    texts = _copy_documents(tmp_path)
    page = next(path for path, text in texts.items()
                if path.parent.name == "docs" and "handmade-folder" in block_names(text))
    text = texts[page]
    row = text.index("| (oracle) |", text.index("<!-- begin readme-block handmade-folder -->"))
    digit = text.index("0.", row) + 2
    page.write_text(text[:digit] + ("1" if text[digit] != "1" else "2") + text[digit + 1:],
                    encoding="utf-8")
    args = ["readme", "--root", str(tmp_path), "--file", str(page)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0
    assert page.read_text(encoding="utf-8") == text


def test_a_block_in_no_document_is_named():
    texts = [path.read_text(encoding="utf-8") for path in documents(ROOT)]
    assert lost_blocks(texts) == []
    start = "<!-- begin readme-block handmade-folder-joint-default -->"
    end = "<!-- end readme-block handmade-folder-joint-default -->\n"
    cut = [text[:text.index(start)] + text[text.index(end) + len(end):] if start in text
           else text for text in texts]
    assert lost_blocks(cut) == ["handmade-folder-joint-default"]


def test_a_block_without_a_renderer_is_refused():
    with pytest.raises(UserError, match="no renderer"):
        rendered_readme("<!-- begin readme-block nope -->\nx\n<!-- end readme-block nope -->\n",
                        ROOT)
