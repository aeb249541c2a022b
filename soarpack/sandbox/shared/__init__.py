"""What every vendor simulator shares and none owns: serving an app (loopback or
in-process), faults, the request log, request bodies, rate limiting and the manifest's
declared paths. Imports no vendor package."""
