"""Evaluation: metrics (:mod:`.metrics`, :mod:`.topk`), reports and plots
(:mod:`.reports`, :mod:`.hooks`), and what a recording's assessment holds
(:mod:`.assessment`). It reads the model's predictions, never the data or the model."""
