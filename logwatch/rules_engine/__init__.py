"""The rule kinds and the machinery that runs rule files (`rules/*.toml`) over the tables.

`model` holds what a rule file may say, `loader` reads and overrides them, `select`
turns conditions into masks, `windows` holds the vectorized sliding-window sweeps the
kinds share, one module per kind finds incidents, and `runner` ties them together.
"""
