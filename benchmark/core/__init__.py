"""The floor every package stands on: the contracts, importing nothing else of ours.

    errors       UserError (one-line message, exit 2) and RefusedTask
    modalities   the modality names in canonical order
    tasks        ``sources -> targets``, parsed once into a Task
    registry     named entries with did-you-mean, plug-ins from files and entry points
    cache        where caches live, content keys, atomic writes, load-or-build
    media_split  raw media of one dataset split with pairing and labels
    media/       media <-> tensor transforms shared by backbones and evaluators

``methods/`` and ``metrics/`` import from here and nothing else of ``benchmark``; the
harness above (runner, CLI, report) imports them.
"""
