"""Webhooks: subscriptions, signing secrets, safe targets, and durable signed delivery.

- :mod:`.names` — the event vocabulary (underscore names on the REST API, dotted on the wire).
- :mod:`.secrets` — ``whsec_`` secrets, sealed at rest with AES-GCM.
- :mod:`.signing` — the two signature schemes sent with every attempt.
- :mod:`.targets` — URL rules and the address vetting that keeps deliveries off private
  networks, at registration and again at every connection.
- :mod:`.service` — the operations behind the API and the command line.
- :mod:`.delivery` — one HTTP attempt.
- :mod:`.scheduler` — the in-process owner task: outbox fan-out, due attempts, retries,
  auto-pause, log purge.
- :mod:`.runtime` — wiring into the application's lifecycle.
"""
