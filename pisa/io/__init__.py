"""The bottom layer: files in and out, with no knowledge of datasets, models or runs.

- :mod:`.atomic`: every file the framework writes goes through one atomic writer
  (temporary name beside the target, fsync, rename), JSON made strict.
- :mod:`.safe_load`: every pickle and checkpoint it reads goes through one restricted
  loader with explicit allowlists.
- :mod:`.media`: reading video and audio through registered decoder backends (decord,
  PyAV, torchcodec), frame folders, crop and resize as frames decode;
  writing H.264/AAC and wav test media (PyAV, soundfile).
- :mod:`.jsonlines`: reading and appending JSON-lines files.
- :mod:`.ahead`: iterating on a thread, a few items ahead (decoding, batches).
"""
