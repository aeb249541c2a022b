"""Lacework Edge on the engine side: its protocol and tooling, not what an action returns.

The rule for every vendor package: handlers (the code an action runs) live in
actions/lacework_edge/, and every request they send is an action's declared request
(manifest.yaml). Here: the enum codes the handlers and the sandbox share (enums.py), and
binding the generated actions to the vendor's OpenAPI file (bindspec.py, and its
`soarpack lacework-edge bind-spec` command in cli.py). The generator of those actions is
tools/lacework_edge/.
"""
