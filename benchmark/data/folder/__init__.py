"""``folder``: a paired media folder, the format users bring their own media in.

A folder holds ``manifest.jsonl`` (one JSON object per item, see
:mod:`benchmark.data.manifest`) and the media files it names, at paths relative to the
folder (``images/cat-01.jpg``; an absolute path or one with ``..`` is refused)::

    my-pets/
      manifest.jsonl     {"id": "cat-01", "split": "train", "text": "a sleeping cat",
                          "image": "images/cat-01.jpg", "audio": "audio/cat-01.wav",
                          "labels": {"animal": "cat"}}
      images/cat-01.jpg
      audio/cat-01.wav

Captions are inline; training items may lack any modality, test items should have every
modality the tasks need. Loading brings every item to one shape:

- images, of any size and mode PIL reads: RGB (transparency composited over white),
  centre-cropped to a square and resized to ``image_size x image_size`` with Lanczos
  (:mod:`benchmark.data.folder.image`); an RGB image already at that size is kept as is;
- audio, of any rate, channel count and length soundfile reads: mono (channels averaged),
  resampled to ``sample_rate`` by polyphase filtering, trimmed or zero-padded at the end to
  ``round(duration_s * sample_rate)`` samples, clipped to ``[-1, 1]``
  (:mod:`benchmark.data.folder.audio`); 16-bit PCM maps to ``pcm / 32767``, so a clip
  written with that convention at the target rate and length loads back bit for bit;
- labels: integers are their own class index, strings are numbered in sorted order
  (:mod:`benchmark.data.manifest`); ``-1`` where a training item has none.

Missing modalities load as ``""`` / zeros with ``present`` False. Every problem (manifest
lines; files that are missing, outside the folder, undecodable, or audio with no samples) is
reported as one :class:`~benchmark.data.manifest.BadData` naming the lines; nothing is cached.
:func:`benchmark.data.export.export_media_folder` writes any media dataset in this format.
"""

from benchmark.data.folder.dataset import MediaFolder

__all__ = ["MediaFolder"]
