"""The management API (Okta's /api/v1/apps, /authorizationServers, /users, /groups, /logs), with Django REST
framework: org server access tokens carrying management scopes (policy.MANAGEMENT_SCOPES)."""
