"""What turns media into what metrics compare, one concept per module.

    attribute_judges    embedded per-modality attribute classifiers (attr_acc; their
                        penultimate features for FID/KID and FAD)
    contrastive_judges  embedded CLIP-style models per modality pair (clip, clap, ais, r_at_1)
    image_features      clean-fid's image feature pipeline, with the judge or Inception-V3
    audio_features      the embedded audio judge's features for FAD
    pretrained_clip     open_clip CLIP from a local checkpoint
    pretrained_clap     laion-clap CLAP from local files
    weights             where the pretrained files live (``prepare --check-weights``)
    evaluator_set       the run's evaluators by role, ``embedded`` or ``pretrained``
"""
