"""OPSWAT MetaAccess on the engine side: how its protocol works, not what an action returns.

The rule for every vendor package: handlers (the code an action runs) live in
actions/metaaccess/, and every request they send is an action's declared request
(manifest.yaml). Here is only the vendor's protocol: how devices/status_changed pages
end (a 413), in paging.py.
"""
