"""Analysis on top of the planner: what-ifs, sweeps, marginal values, counterfactuals,
uncertainty, plots and reports. Each module uses the public pipeline (load → solve)."""

from .scenarios import DemandPath, Regime, sample_scenarios, scenario_product
from .uncertainty import UncertaintyReport, scenario_outcomes, value_of_information
