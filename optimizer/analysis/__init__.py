"""Analysis on top of the planner: what-ifs, sweeps, marginal values, counterfactuals,
uncertainty, progressive hedging, scenario generation, figures and the HTML report.

Each module uses the public pipeline (load → solve → result tables); import the module
you need (``from optimizer.analysis import figures``, ``optimizer.analysis.sweep``, …).
"""
