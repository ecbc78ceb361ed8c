"""mlc — the library behind Multi-label Lab.

Multi-label classification made tangible: learnable synthetic scenes
(:mod:`mlc.data`), loss modes (:mod:`mlc.losses`), models (:mod:`mlc.models`),
multi-label metrics (:mod:`mlc.metrics`) and one training engine
(:mod:`mlc.training`). Only the UI glue (``mlc/ui.py`` and ``mlc/ui_*.py``)
imports Streamlit; ``import mlc`` itself imports neither TensorFlow nor Streamlit.
"""

__version__ = "0.1.0"

#: The five tags of the reference article, in output order.
DEFAULT_CLASSES: tuple[str, ...] = ("dog", "cat", "house", "tree", "sky")
