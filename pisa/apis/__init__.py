"""The Python API, above the engine and below the command line: assess whole recordings
with a trained model (:func:`.inference.init_assessor` chooses the assessor of a
config's dataset family: :mod:`.assessor`, :mod:`.pair_assessor`,
:mod:`.feature_assessor`)."""
from pisa.apis.assessor import Assessor, recording_record
from pisa.apis.feature_assessor import FeatureAssessor
from pisa.apis.inference import init_assessor
from pisa.apis.pair_assessor import PairAssessor, exemplar_pool

__all__ = ["Assessor", "FeatureAssessor", "PairAssessor", "exemplar_pool", "init_assessor",
           "recording_record"]
