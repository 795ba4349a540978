"""Learning from use (issue 13): questions that worked, and the sections DAPA pointed to, proposed as
example questions for their section; a person approves them into ``knowledge/examples.approved.toml``.

- ``privacy.py``: what looks like personal data (never proposed);
- ``suggest.py``: evidence from the question log -> grouped, ranked suggestions (pure, no I/O);
- ``store.py``: the evidence query and the review decisions, in the feedback database (SQLite/PostgreSQL);
- ``approved.py``: the machine-written examples file (read, merge, atomic write);
- ``review.py``: what ``python -m bot report --suggest / --approve / --reject / --export-approved`` does;
- ``triage.py``: the same from DAPA's triage card in Teams (resolve with a section, approve, reject).
"""
