"""The face engine: upload decoding, liveness and 1:1 matching against the card photo.

`engine.FaceEngine` is the interface the domain layer calls; `pool.ProcessPoolFaceEngine` is the
production implementation (worker processes), `inline.InlineFaceEngine` the in-process one.
"""
