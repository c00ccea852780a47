"""Psychometrics: what a quiz's results say about its items, its students and the concepts taught.

* :mod:`~engine.psychometrics.classical`: Moodle's item and test statistics (facility,
  discrimination, effective weight, Cronbach's alpha, ...).
* :mod:`~engine.psychometrics.irt`: Rasch, common-slope Rasch and 2PL calibration by marginal
  maximum likelihood (the optimiser is in :mod:`~engine.psychometrics.mml`).
* :mod:`~engine.psychometrics.ability`: person abilities by MAP and EAP.
* :mod:`~engine.psychometrics.computed`: facility by variant parameter, misconception rates.
* :mod:`~engine.psychometrics.mastery`: concept mastery per student with its uncertainty.

Inputs are numpy arrays (rows: attempts or persons; columns: items) with NaN where an item was not
presented; results are frozen dataclasses holding numpy arrays. Pure numpy: no scipy.
"""

from engine.psychometrics.ability import AbilityEstimates, AbilityMethod, ability
from engine.psychometrics.classical import ItemStatistics, TestStatistics, item_statistics, test_statistics
from engine.psychometrics.computed import (
    FacilityByRange,
    MisconceptionRates,
    facility_by_range,
    misconception_rates,
)
from engine.psychometrics.irt import IRTFit, IRTModel, fit_2pl, fit_rasch, marginal_loglik
from engine.psychometrics.mastery import ConceptMastery, concept_mastery, mastery_probability

__all__ = [
    "AbilityEstimates",
    "AbilityMethod",
    "ConceptMastery",
    "FacilityByRange",
    "IRTFit",
    "IRTModel",
    "ItemStatistics",
    "MisconceptionRates",
    "TestStatistics",
    "ability",
    "concept_mastery",
    "facility_by_range",
    "fit_2pl",
    "fit_rasch",
    "item_statistics",
    "marginal_loglik",
    "mastery_probability",
    "misconception_rates",
    "test_statistics",
]
