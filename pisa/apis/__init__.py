"""The Python API, above the engine and below the command line: assess whole recordings
with a trained model (:mod:`.inference`)."""
from pisa.apis.inference import Assessor, exemplar_pool, init_assessor, recording_record

__all__ = ["Assessor", "exemplar_pool", "init_assessor", "recording_record"]
