"""Repository paths named in the docs and in our source's docstrings and comments exist, and
the docs' relative links and anchors resolve.

Which text is read: README.md and docs/*.md whole, and every docstring and ``#`` comment of
the Python files under benchmark/, methods/, metrics/ and benchmarks/.

What counts as a repository path: a relative path that starts with one of the repository's
top-level folders (:data:`TOP`, e.g. ``benchmark/``, ``results/``, ``docs/``, ``.ci/``) and
ends in a file extension of :data:`EXTENSIONS` (``.py``, ``.md``, ``.json``, ``.toml``, ...),
read from the repository root. Left out, as user examples or placeholders rather than
files of ours:

- a path that does not start at one of those folders (``my_methods/linear_map.py``,
  ``feats/vggsound``), and one preceded by ``/``, ``~``, ``.`` or a word character, i.e. the
  tail of an absolute, home or longer path (``/tmp/results/x.json``, ``../results/...``
  link targets, which the link check reads instead);
- a path with a placeholder: ``<...>``, ``{...}``, a ``*`` glob, or an upper-case
  placeholder component such as ``NAME`` or ``DIR`` (:data:`PLACEHOLDERS`).

Markdown links ``[text](target)`` in README.md and docs/*.md whose target is relative (no
scheme, not starting with ``/``) must resolve from the linking file's folder, and a
``#anchor`` must be the GitHub slug of a heading of the target document.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from support.paths import ROOT

TOP = ("benchmark", "benchmarks", "claims", "docs", "methods", "metrics", "reports", "results",
       "tests", ".ci")
EXTENSIONS = ("py", "md", "json", "jsonl", "toml", "csv", "tex", "html", "png", "npz", "npy",
              "lock", "txt", "yaml", "yml", "cfg", "ini", "sh", "wav")
PLACEHOLDERS = {"NAME", "DIR", "FILE", "PATH"}
SOURCE_FOLDERS = ("benchmark", "methods", "metrics", "benchmarks")

_PATH = re.compile(r"(?<![\w./~<>{}*-])((?:" + "|".join(re.escape(t) for t in TOP) + r")/"
                   r"[\w./-]*\.(?:" + "|".join(EXTENSIONS) + r"))(?![\w/<>{}*-])")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$", re.MULTILINE)
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_notes(path: Path) -> list[tuple[int, str]]:
    """The docstrings and ``#`` comments of a Python file, each with its first line."""
    source = path.read_text(encoding="utf-8")
    notes = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                notes.append((body[0].lineno, body[0].value.value))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            notes.append((token.start[0], token.string))
    return notes


def texts() -> list[tuple[str, int, str]]:
    """(file relative to the root, line, text) of everything this test reads."""
    out = []
    for path in documents():
        out.append((path.relative_to(ROOT).as_posix(), 1, path.read_text(encoding="utf-8")))
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            out += [(rel, line, text) for line, text in python_notes(path)]
    return out


def named_paths(text: str) -> list[tuple[int, str]]:
    """The repository paths ``text`` names (see the module docstring), with their line
    offset within ``text``."""
    found = []
    for match in _PATH.finditer(text):
        path = match.group(1).rstrip(".")
        if PLACEHOLDERS & set(path.split("/")) or any(
                part.split(".")[0] in PLACEHOLDERS for part in path.split("/")):
            continue
        found.append((text.count("\n", 0, match.start()), path))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"`|\*\*|\[([^]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip())
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def test_the_top_level_folders_exist():
    assert [t for t in TOP if not (ROOT / t).is_dir()] == []


def test_the_path_rule():
    text = ("see benchmark/readme.py and `results/baselines/NAME.json`, /tmp/results/x.json, "
            "~/results/y.json, ../results/demo/z.json, my_methods/linear_map.py, "
            "reports/<name>/table.md, methods/{name}.py, results/runs/*.json, "
            "docs/metrics.md#metrics.")
    assert [path for _, path in named_paths(text)] == ["benchmark/readme.py", "docs/metrics.md"]


def test_every_named_repository_path_exists():
    missing = []
    for name, first_line, text in texts():
        for offset, path in named_paths(text):
            if not (ROOT / path).exists():
                missing.append(f"{path} (named in {name}:{first_line + offset})")
    assert not missing, ("paths that do not exist in the repository:\n  "
                         + "\n  ".join(sorted(set(missing))))


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for match in _LINK.finditer(prose):
            target = match.group(1)
            if re.match(r"[a-z]+:", target) or target.startswith("/"):
                continue
            file_part, _, anchor = target.partition("#")
            where = f"{path.relative_to(ROOT)}:{prose.count(chr(10), 0, match.start()) + 1}"
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{target} (in {where}): no such file")
            elif anchor and linked.suffix == ".md":
                linked_text = _FENCE.sub("", linked.read_text(encoding="utf-8"))
                slugs = {slug(h) for _, h in _HEADING.findall(linked_text)}
                if anchor not in slugs:
                    broken.append(f"{target} (in {where}): no heading with that anchor")
    assert not broken, "broken links:\n  " + "\n  ".join(broken)
