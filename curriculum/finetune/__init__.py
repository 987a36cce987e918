"""Infrastructure for the LoRA fine-tuning lesson: which base model to load, and a cache of trained adapters.

The lesson's exercises (the LoRA layer, loss masking, the training loop) are written by the learner; this
package only finds the weights and keeps a trained adapter so that re-running a notebook does not retrain.
"""

from curriculum.finetune.adapter_cache import AdapterCacheError, cached_training, fingerprint
from curriculum.finetune.base_model import BASE_MODEL_ENV, base_model_folder

__all__ = ["AdapterCacheError", "BASE_MODEL_ENV", "base_model_folder", "cached_training", "fingerprint"]
