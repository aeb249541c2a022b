"""Scale-out on Celery: steps and `for_each` items run on worker processes.

    celeryapp.py     the Celery app and its settings (the config's `workers:` section)
    tasks.py         the worker's task: verify it, invoke the action, settle redeliveries
    signing.py       the task key; tasks signed by the coordinator, verified by workers
    ledger.py        per-task claims, leases and results in Redis (safe redelivery)
    wire.py          ActionResults and SoarpackErrors as JSON-safe data, and back
    dispatch.py      CeleryEngine: an Engine whose invoke runs on a worker
    redis_server.py  a real redis-server on loopback (tests, `soarpack redis serve`)

Celery and Redis come with the `workers` extra; nothing here is imported by a local run.
"""
