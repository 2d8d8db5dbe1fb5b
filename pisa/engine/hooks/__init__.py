"""The hooks a run lists in its config, one module per group: the hooks every run uses
during its loops (:mod:`.run_hooks`), calibration after training (:mod:`.calibration_hook`),
the baseline comparison after testing (:mod:`.baseline_hook`) and the report files
(:mod:`.report_hook`)."""
