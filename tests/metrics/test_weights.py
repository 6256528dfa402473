"""Where pretrained evaluator files are looked for, and `prepare --check-weights`."""

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.core.errors import UserError
from metrics.evaluators.weights import (
    CLAP,
    CLIP,
    INCEPTION,
    WEIGHTS_ENV,
    WeightsConfig,
    check_weights,
)

DEFAULT_NAMES = {
    "inception": "inception-2015-12-05.pt",
    "clip": "open_clip-ViT-B-32-openai.bin",
    "clap": "630k-audioset-best.pt",
    "roberta": "roberta-base",
}


def _write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _fill(root: Path) -> None:
    """Put every default file (placeholders) under ``root``."""
    for key, name in DEFAULT_NAMES.items():
        if key == "roberta":
            for member in ("config.json", "vocab.json", "merges.txt"):
                _write(root / name / member)
        else:
            _write(root / name)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)


def test_defaults_live_under_weights_in_the_working_directory():
    config = WeightsConfig.load()
    assert dict(config.paths) == {k: Path("weights") / v for k, v in DEFAULT_NAMES.items()}
    assert "defaults" in config.origin
    assert config.path(INCEPTION) == Path("weights/inception-2015-12-05.pt")
    assert config.path(CLAP, "roberta") == Path("weights/roberta-base")


def test_yaml_paths_resolve_against_the_yaml_folder(tmp_path):
    absolute = tmp_path / "elsewhere" / "clap.pt"
    yaml_file = _write(tmp_path / "conf" / "w.yaml",
                       f"root: store\nclip: models/clip.bin\nclap: {absolute}\n")
    config = WeightsConfig.load(yaml_file)
    conf = tmp_path / "conf"
    assert config.paths["clip"] == conf / "models" / "clip.bin"
    assert config.paths["clap"] == absolute
    assert config.paths["inception"] == conf / "store" / "inception-2015-12-05.pt"
    assert config.paths["roberta"] == conf / "store" / "roberta-base"


def test_unlisted_keys_keep_the_default_root_and_an_empty_file_means_defaults(tmp_path):
    config = WeightsConfig.load(_write(tmp_path / "w.yaml", "clip: c.bin\n"))
    assert config.paths["clip"] == tmp_path / "c.bin"
    assert config.paths["inception"] == Path("weights/inception-2015-12-05.pt")
    empty = WeightsConfig.load(_write(tmp_path / "empty.yaml", ""))
    assert dict(empty.paths) == {k: Path("weights") / v for k, v in DEFAULT_NAMES.items()}


def test_env_var_names_the_yaml_file_and_an_explicit_file_wins(tmp_path, monkeypatch):
    from_env = _write(tmp_path / "env.yaml", "clap: a.pt\n")
    explicit = _write(tmp_path / "explicit.yaml", "clap: b.pt\n")
    monkeypatch.setenv(WEIGHTS_ENV, str(from_env))
    config = WeightsConfig.load()
    assert config.paths["clap"] == tmp_path / "a.pt"
    assert WEIGHTS_ENV in config.origin
    assert WeightsConfig.load(explicit).paths["clap"] == tmp_path / "b.pt"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("inceptoin: a.pt\n", "unknown key 'inceptoin'"),
        ("clip: [1, 2]\n", "key 'clip'"),
        ("inception: models/inception.pt\n", "called inception-2015-12-05.pt"),
        ("- a\n- b\n", "must be a mapping"),
        ("clip: a\n  bad: : indent\n", "not valid YAML"),
    ],
)
def test_bad_yaml_is_a_one_line_user_error(tmp_path, content, message):
    with pytest.raises(UserError) as error:
        WeightsConfig.load(_write(tmp_path / "w.yaml", content))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_key_error_names_the_known_keys_and_a_suggestion(tmp_path):
    with pytest.raises(UserError, match="did you mean 'inception'") as error:
        WeightsConfig.load(_write(tmp_path / "w.yaml", "inceptoin: a.pt\n"))
    assert "known keys: root, inception, clip, clap, roberta" in str(error.value)


def test_missing_yaml_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        WeightsConfig.load(tmp_path / "nope.yaml")


def test_check_weights_on_an_empty_folder_lists_every_file_with_how_to_get_it(tmp_path):
    rows = check_weights(WeightsConfig.defaults(tmp_path))
    assert [(r.evaluator, r.key) for r in rows] == [
        ("inception-v3:clean", "inception"), ("open_clip:ViT-B-32:openai", "clip"),
        ("laion-clap:630k-audioset", "clap"), ("laion-clap:630k-audioset", "roberta"),
    ]
    assert not any(r.present for r in rows)
    for row in rows:
        assert str(row.path) in row.fetch and row.fetch.startswith(("curl", "for f in"))
        assert row.url.startswith("https://") and row.url in row.fetch
    roberta = rows[-1]
    assert roberta.missing == ("config.json", "vocab.json", "merges.txt")


def test_check_weights_sees_present_files_and_partial_folders(tmp_path):
    _fill(tmp_path)
    (tmp_path / "roberta-base" / "vocab.json").unlink()
    rows = {r.key: r for r in check_weights(WeightsConfig.defaults(tmp_path))}
    assert rows["inception"].present and rows["clip"].present and rows["clap"].present
    assert rows["roberta"].missing == ("vocab.json",)
    assert "(missing vocab.json)" in rows["roberta"].shown_path


def test_require_lists_every_missing_file_in_one_line(tmp_path):
    _write(tmp_path / "630k-audioset-best.pt")
    config = WeightsConfig.defaults(tmp_path)
    with pytest.raises(UserError) as error:
        config.require(INCEPTION, CLIP, CLAP)
    message = str(error.value)
    assert "\n" not in message
    assert "inception-2015-12-05.pt" in message and "open_clip-ViT-B-32-openai.bin" in message
    assert "roberta-base/" in message and "https://huggingface.co/roberta-base" in message
    assert "630k-audioset-best.pt (from" not in message  # present, so not listed


def test_require_returns_the_paths_once_everything_is_there(tmp_path):
    _fill(tmp_path)
    paths = WeightsConfig.defaults(tmp_path).require(CLAP)
    assert paths == {"clap": tmp_path / "630k-audioset-best.pt",
                     "roberta": tmp_path / "roberta-base"}


def test_cli_check_weights_reports_without_importing_torch(tmp_path):
    yaml_file = _write(tmp_path / "w.yaml", f"root: {tmp_path / 'store'}\n")
    code = ("import sys; from benchmark.cli import main; "
            f"rc = main(['prepare', '--check-weights', '--weights', {str(yaml_file)!r}]); "
            "print('rc', rc, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    out = result.stdout
    assert out.strip().splitlines()[-1] == "rc 0 False"
    for evaluator in ("inception-v3:clean", "open_clip:ViT-B-32:openai",
                      "laion-clap:630k-audioset"):
        assert evaluator in out
    assert out.count("MISSING") == 4
    assert f"curl -L --create-dirs -o {tmp_path / 'store' / 'inception-2015-12-05.pt'}" in out


def test_cli_check_weights_with_everything_present_says_so(tmp_path, capsys):
    _fill(tmp_path)
    yaml_file = _write(tmp_path / "w.yaml", "root: .\n")
    assert main(["prepare", "--check-weights", "--weights", str(yaml_file)]) == 0
    out = capsys.readouterr().out
    assert "MISSING" not in out and "all 4 files present" in out


def test_cli_weights_without_check_weights_or_with_bad_yaml_is_exit_2(tmp_path, capsys):
    assert main(["prepare", "--weights", str(tmp_path / "w.yaml")]) == 2
    assert "--check-weights" in capsys.readouterr().err
    bad = _write(tmp_path / "bad.yaml", "clp: x\n")
    assert main(["prepare", "--check-weights", "--weights", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'clp'" in err and len(err.strip().splitlines()) == 1
