"""Dev scripts (not installed): calibration, tuning and benchmarks, run as `python -m scripts.NAME`.

They import the product and reuse `evals.metrics`; their figures go to `reports/`.
"""
