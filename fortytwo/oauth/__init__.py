"""OAuth 2.1 authorization server: PKCE, clients, the sign-in and consent pages, codes,
token issuing and rotation, revocation, introspection and discovery metadata.

The modules here hold the rules; every SQL statement lives in ``fortytwo.store.oauth`` and
the HTTP surface in ``fortytwo.api.oauth`` and ``fortytwo.api.wellknown``.
"""
