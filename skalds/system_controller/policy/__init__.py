"""The controller's decisions as pure functions over plain data (no I/O, no clock reads, no threads).

The monitor and the dispatcher gather the facts and act; what they decide lives here, so each
rule has one home and a unit test that needs no services.
"""
