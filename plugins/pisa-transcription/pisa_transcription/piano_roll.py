"""A window of notes as a piano-roll image, the input of learned note encoders."""
from __future__ import annotations

import numpy as np

from pisa_transcription.notes import checked_window

#: channels of :func:`piano_roll`'s output
CHANNELS = ("onset", "sounding", "velocity")
#: the 88 keys of a piano: A0 .. C8
LOWEST_KEY, HIGHEST_KEY = 21, 108


def piano_roll(notes: np.ndarray, start: float, end: float, width: int,
               low: int = LOWEST_KEY, high: int = HIGHEST_KEY) -> np.ndarray:
    """float32 ``(3, high - low + 1, width)``: the window ``[start, end)`` seconds cut into
    ``width`` time bins of equal length ``(end - start) / width``, one row per MIDI pitch
    ``low..high`` (row 0 is ``low``).

    - channel 0 (onset): 1 in the bin of each onset inside the window;
    - channel 1 (sounding): 1 in every bin a note sounds in, for any part of it (a note
      begun before the window or lasting past it is clipped to the window);
    - channel 2 (velocity): the note's velocity in its onset bin (the largest, when two
      onsets of one pitch share a bin).

    Notes whose pitch lies outside ``low..high`` are dropped (the default range is the
    piano's 88 keys). ``notes``: ``(N, 4)`` rows ``(onset s, offset s, MIDI pitch,
    velocity 0..1)``. Raises ``ValueError`` for a wrong shape, non-finite notes, an empty
    window or an empty pitch range."""
    notes, start, end = checked_window(notes, start, end)
    width, low, high = int(width), int(low), int(high)
    if width < 1 or high < low:
        raise ValueError(f"piano_roll needs width >= 1 and low <= high, got width={width}, "
                         f"low={low}, high={high}")
    roll = np.zeros((3, high - low + 1, width), dtype=np.float32)
    row = np.rint(notes[:, 2]).astype(np.int64) - low
    keep = (row >= 0) & (row <= high - low) & (notes[:, 1] > start) & (notes[:, 0] < end)
    notes, row = notes[keep], row[keep]
    if len(notes) == 0:
        return roll
    scale = width / (end - start)  # bins per second

    onset_in = notes[:, 0] >= start
    onset_bin = np.clip(np.floor((notes[onset_in, 0] - start) * scale).astype(np.int64), 0, width - 1)
    roll[0, row[onset_in], onset_bin] = 1.0
    np.maximum.at(roll[2], (row[onset_in], onset_bin), notes[onset_in, 3].astype(np.float32))

    # sounding: +1 at the first bin, -1 after the last, summed along time
    first = np.clip(np.floor((np.maximum(notes[:, 0], start) - start) * scale).astype(np.int64), 0, width - 1)
    stop = np.ceil((np.minimum(notes[:, 1], end) - start) * scale).astype(np.int64)
    stop = np.clip(stop, first + 1, width)
    steps = np.zeros((high - low + 1, width + 1), dtype=np.int64)
    np.add.at(steps, (row, first), 1)
    np.add.at(steps, (row, stop), -1)
    roll[1] = np.cumsum(steps, axis=1)[:, :width] > 0
    return roll
