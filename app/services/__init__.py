"""Use cases. Each function takes ``session`` as a keyword-only argument, changes rows and
writes revisions in the caller's transaction; the caller commits once (one transaction per
request). Errors are raised as :mod:`app.domain.errors` exceptions before anything is
flushed, so nothing is ever half-written."""
