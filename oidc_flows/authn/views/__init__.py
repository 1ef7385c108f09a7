"""The two front ends of the sign-in: the JSON API (``api``) and the hosted pages (``pages``)."""
