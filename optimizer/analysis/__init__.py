"""Analysis on top of the planner: what-ifs, sweeps, marginal values, counterfactuals,
uncertainty, plots and reports. Each module uses the public pipeline (load → solve)."""
