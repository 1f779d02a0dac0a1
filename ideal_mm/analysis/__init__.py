"""Studies and reports over finished runs: study specs, the resumable study
runner and its tables (``study_*``), results tables of tested work dirs
(:mod:`.summaries`), training curves (:mod:`.curves`), per-level encoder
statistics (:mod:`.encoder_stats`) and the metric benchmark against medpy
(:mod:`.metric_benchmark`). ``tools/analysis/`` holds their command lines.

The submodules are imported where used (matplotlib, medpy and the runner's
subprocesses are not needed to import ideal_mm).
"""
