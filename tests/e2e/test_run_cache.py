"""DVC caching on tiny params: editing a module re-runs the stages that import it and no
others. (Going back to parameters that ran before is in test_pipeline.py and
test_gpt_pipeline.py; failures that must lose nothing are in test_failures_dvc.py.)"""

from __future__ import annotations

import json


def test_editing_sampling_code_reruns_the_stages_that_sample_and_no_training(built_repo):
    samplers = built_repo.path / "src/genlab/diffusion/samplers.py"
    text = samplers.read_text()
    old = "    return calls + int(denoise_final)\n"
    assert old in text
    samplers.write_text(text.replace(old, "    calls = calls + 0  # edited\n" + old))
    status = built_repo.run("dvc", "status", "--json").stdout
    changed = {stage for stage in json.loads(status)}
    sampling = {"sample", "figures", "sample_conditional", "figures_conditional", "likelihood"}
    assert changed == sampling, changed
