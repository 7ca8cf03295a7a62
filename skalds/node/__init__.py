"""The Skald node: everything that runs in the node process around the worker processes.

Kept free of imports so that the worker fork server, started as
`skalds.node.forkserver_main`, loads nothing of the node but that module.
"""
