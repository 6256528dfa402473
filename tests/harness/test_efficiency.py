"""Sampling cost measured by counting rows through the velocity networks."""

import torch
from torch import nn

from benchmark.core.tasks import parse_task
from benchmark.scoring.efficiency import (
    counting_rows,
    function_evaluations_per_item,
    peak_memory_mb,
)
from methods.flowbind import FlowBind

DIMS = {"text": 8, "image": 8, "audio": 8}


def test_rows_are_counted_per_call_including_concatenated_guidance_batches():
    layer = nn.Linear(4, 4)
    with counting_rows([layer]) as rows:
        layer(torch.zeros(3, 4))
        layer(torch.zeros(6, 4))  # a conditional + unconditional batch costs twice
    assert rows[0] == 9
    layer(torch.zeros(2, 4))  # hooks are gone afterwards
    assert rows[0] == 9


def test_flowbind_directed_sampling_costs_one_encode_and_one_decode_pass_per_step():
    torch.manual_seed(0)
    method = FlowBind(DIMS, preset="tiny", tasks=[parse_task("audio2image")])
    sources = {"audio": torch.randn(5, 8)}
    _, nfe = function_evaluations_per_item(method, 5, lambda: method.generate(
        sources, ["image"], steps=7, guidance=None, generator=torch.Generator().manual_seed(0)))
    assert nfe == 2 * 7


def test_peak_memory_is_reported_in_megabytes():
    memory = peak_memory_mb()
    assert memory["peak_rss_mb"] > 10
    assert memory["peak_gpu_mb"] is None or memory["peak_gpu_mb"] >= 0
