"""``index.html``: the tables, the plots, and a gallery of generated samples.

The gallery shows, for each method and task, the first test items of one run (the lowest
seed): the sources, what the method generated and the real target, images upscaled for
the eye (nearest neighbour, so pixels stay honest) and audio as players. The media are
written as files beside the page, so it works opened from disk.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmark.report.plots import CAPTIONS
from benchmark.report.tables import Table, task_arrow, task_order, to_html
from benchmark.results.records import RunRecord, media_settings, read_samples

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.notes { font-size: 0.8em; color: #555; }
img.plot { max-width: 100%; }
.gallery td { vertical-align: top; text-align: center; white-space: normal; }
.gallery img { width: 64px; height: 64px; image-rendering: pixelated; }
.caption { font-size: 0.8em; max-width: 12em; display: inline-block; }
"""


def _media_cell(array: np.ndarray, index: int, stem: str, folder: Path,
                sample_rate: int) -> str:
    """One item as HTML, its file (PNG / WAV) written under ``folder`` when it has one."""
    item = array[index]
    if array.dtype.kind == "U":
        return f"<span class='caption'>{html.escape(str(item))}</span>"
    if array.ndim == 4:
        from PIL import Image

        Image.fromarray(np.asarray(item, dtype=np.uint8)).save(folder / f"{stem}.png")
        return f"<img src='gallery/{stem}.png' alt='{stem}'>"
    import soundfile

    soundfile.write(folder / f"{stem}.wav", np.asarray(item, dtype=np.float32), sample_rate,
                    subtype="PCM_16")
    return f"<audio controls preload='none' src='gallery/{stem}.wav'></audio>"


def gallery(records: Sequence[RunRecord], results_dir: Path, out_dir: Path) -> str:
    """The gallery section: per method and task, the lowest seed's run with a readable
    samples file (a damaged one is skipped; the report's problems name it); methods and
    tasks with none are listed as such."""
    folder = out_dir / "gallery"
    folder.mkdir(parents=True, exist_ok=True)
    chosen: dict[tuple[str, str], tuple[RunRecord, dict[str, np.ndarray]]] = {}
    pairs = set()
    for record in sorted(records, key=lambda r: (r.method, r.task, r.seed)):
        pairs.add((record.method, record.task))
        if (record.method, record.task) in chosen or not record.samples_file \
                or not (results_dir / record.samples_file).exists():
            continue
        samples = read_samples(results_dir / record.samples_file)
        if samples:  # None: unreadable; empty: precomputed embeddings, no media to show
            chosen[record.method, record.task] = record, samples
    parts = []
    order = task_order(task for _, task in pairs)
    without = [f"{method} {task}" for method, task in
               sorted(pairs - chosen.keys(), key=lambda mt: (mt[0], order.index(mt[1])))]
    for (method, task), (record, samples) in sorted(
            chosen.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        sample_rate = int(media_settings(record)["sample_rate"])
        keys = sorted(samples, key=lambda k: ("source", "generated", "truth").index(
            k.split("/")[0]))
        items = len(samples[keys[0]])
        header = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        rows = []
        for i in range(items):
            cells = [_media_cell(samples[k], i, f"{method}-{task}-{i}-{k.replace('/', '-')}",
                                 folder, sample_rate) for k in keys]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append(f"<h3>{html.escape(method)}: {html.escape(task_arrow(task))} "
                     f"(seed {record.seed})</h3><table class='gallery'><thead><tr>{header}"
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if without:
        parts.append("<p class='notes'>no stored samples (runs made before samples were "
                     f"kept, or their samples files are unreadable): "
                     f"{html.escape(', '.join(without))}</p>")
    return "".join(parts)


def write_page(out_dir: Path, title: str, tables: Sequence[Table], plots: Sequence[Path],
               gallery_html: str, problems: Sequence[str]) -> Path:
    problem_list = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<h2>Not in this report</h2><ul>{problem_list}</ul>" if problems else "",
        "<h2>Tables</h2>", *(to_html(t) for t in tables),
        "<h2>Plots</h2>",
        *(f"<figure><img class='plot' src='{p.name}' alt='{p.stem}'><figcaption>"
          f"{html.escape(CAPTIONS.get(p.name, ''))}</figcaption></figure>" for p in plots),
        "<h2>Samples</h2>", gallery_html,
    ]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n")
    path = out_dir / "index.html"
    path.write_text(page)
    return path
