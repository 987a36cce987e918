"""The HTTP API of the capstone, one router per resource.

The capstone contract (stable; other tools call it):

* ``aie serve`` starts it on 127.0.0.1:8000 with the embedded defaults; ``GET /healthz``; OpenAPI at ``/docs``.
* ``POST /v1/ask`` ``{"question": str}`` -> ``{"answer": str, "citations": [{"marker": "[1]", "source": str,
  "chunk_id": str, "quote": str}], "usage": {"input_tokens": int, "output_tokens": int, "cost_usd": float},
  "latency_ms": float, "request_id": str, "dropped_sentences": int, "extractive_fallback": bool,
  "answered_by": str}``; every ``[n]`` marker in the answer resolves to a citation whose quote is in that chunk.
  With a generative model (``AIE_MODEL=local:smollm2``) every sentence is checked against the passage it cites;
  ``dropped_sentences`` counts those taken out, and ``extractive_fallback`` says the answer quotes the passages
  because none held. ``"stream": true`` answers as server-sent events: ``token`` ``{"text"}`` deltas (the
  unchecked draft), then ``citations`` (the body above), then ``done`` ``{"request_id"}``; a failure after the
  first event is an ``error`` event ``{"status", "detail"}`` (:mod:`capstone.api.streaming`).
* ``POST /v1/documents`` (multipart upload) ingests a file; bad input gets a 4xx with a clear message;
  ``DELETE /v1/documents/{source}`` removes one for its owner; ``POST /v1/feedback`` rates an answer.
* ``GET /metrics`` in Prometheus text format (requests, latency histogram, cost, budget state).
"""
