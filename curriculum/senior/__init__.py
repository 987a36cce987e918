"""Infrastructure for the senior phase: the course's own small language model, the support-ticket
triage data set, and a helper that runs a web app on 127.0.0.1 for the serving exercises.

* :mod:`curriculum.senior.tiny_lm` — a Llama-style causal LM pretrained from scratch (cached).
* :mod:`curriculum.senior.triage` — the triage data set and label scoring with a causal LM.
* :mod:`curriculum.senior.serve` — run an ASGI app under uvicorn in a background thread.
"""
