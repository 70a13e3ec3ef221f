"""Evaluation of separation systems by SDR and by HAAQI through the Cadenza chain.

Modules: :mod:`.hrir` (BTE head-related impulse responses), :mod:`.at_ear`
(loudspeakers to hearing-aid microphones), :mod:`.tracks` (MUSDB18 stem files and
the plain/at-ear conditions), :mod:`.systems` (separator, floor, ceiling),
:mod:`.sdr`, :mod:`.haaqi` (one scene's HAAQI), :mod:`.protocol` (gains
scenarios, listeners, scene assignment), :mod:`.harness` (running it all),
:mod:`.results` (CSV and summary) and :mod:`.comparison` (two runs, paired by
scene).
"""
