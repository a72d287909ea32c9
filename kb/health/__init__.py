"""Content health: which articles need an editor (translation behind, policy changed,
helpfulness fell, reported incorrect, broken links, not reviewed), each with its reason and
since when. model (flags), rules (the pure computation), service (signals from the site and the
database, "mark reviewed"), feed (the Atom feed of new flags).
"""
