"""What the tests and benchmarks share (importable as ``tests.support`` from the repository root, where
``make test`` and ``python -m benchmarks.…`` run): the stub Bot Connector (``connector``), loopback
helpers (``net``), Teams-shaped activities and card readers (``teams``), the knowledge bases the tests
index (``knowledge``) and the feedback store backends (``feedback``)."""
