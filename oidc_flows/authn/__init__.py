"""Sign-in: Okta's Authentication API (``/api/v1/authn``), factors, recovery and sign-on policies.

One state machine (``machine``) decides what a sign-in needs next; two front ends drive it: the JSON
API (``views/api.py``, Okta's contract) and the hosted pages (``views/pages.py``).
"""
