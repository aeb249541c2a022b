"""Netskope on the engine side: how its protocol works, not what an action returns.

The rule for every vendor package: handlers (the code an action runs) live in
actions/netskope/, and every request they send is an action's declared request
(manifest.yaml). Here is only what more than one caller shares about the vendor's
protocol: the REST v2 data-export iterator pages (dataexport.py), read by the page
actions and by the checkpointed ingest (soarpack.ingest).
"""
