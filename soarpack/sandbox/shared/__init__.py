"""What every vendor simulator shares and none owns: serving an app (loopback or
in-process), faults, the request log, request bodies and rate limiting. Imports no vendor package."""
