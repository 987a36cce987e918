"""The offline environment every tool of the project runs in.

These variables must be set before ``transformers``, ``huggingface_hub`` or ``ragas`` are
imported, so they live in the Jupyter kernel spec, the Makefile and the test configuration,
never in a notebook cell.
"""

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "RAGAS_DO_NOT_TRACK": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}
