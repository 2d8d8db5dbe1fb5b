"""Data, by role: ``adapters`` (one annotation layout each: PISA, generic CSV/JSON lines,
MTL-AQA, AQA-7, FineDiving, JIGSAWS, UCF101, the released Rhythmic Gymnastics and Fis-V
features), ``transforms`` (pipeline steps, augmentation, mel images), ``core`` (the
dataset base and the parts it composes: splits, clip samplers, the prepared cache, the
bad-sample log, seeding, the feature store) and ``wrappers`` (datasets over another
dataset: exemplar pairs, extracted clip features). Each component is registered where it
is defined (``@component``)."""
