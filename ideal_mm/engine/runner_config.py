"""The old import path of the config helpers, kept for scripts that use it.

The helpers live by job: :mod:`.config_edits` (command-line edits of a loaded
config), :mod:`.config_checks` (start-up validation), :mod:`.checkpoint_checks`
(reading a checkpoint and checking that it fits the model) and
:mod:`.config_walk` (the one walk over a config). ``ideal_mm.apis.inference``
still imports from here.
"""
from .checkpoint_checks import (check_checkpoint_fits,  # noqa: F401
                                check_state_fits, read_checkpoint_state)
from .config_checks import (check_label_budgets, check_num_classes,  # noqa: F401
                            check_pretrained_files, check_registered_types,
                            config_errors, registry_error, validate_config)
from .config_edits import (VOLUME_METRICS, add_hook_once,  # noqa: F401
                           enable_amp, enable_channels_last, load_config,
                           resolve_work_dir, set_metric_out_dirs,
                           set_prediction_dir, set_show_dir,
                           setup_cpu_distributed, weights_from_checkpoint)
