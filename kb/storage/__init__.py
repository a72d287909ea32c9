"""Storage: every SQL statement of kb lives in this package.

db.py owns connections, the single writer and migrations; one module per area holds that
area's queries (votes.py, searchlog.py, policy.py, users.py, ...). Moving to PostgreSQL means
rewriting this package only.
"""
