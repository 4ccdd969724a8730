"""zoomapi: the one place that speaks to Zoom's REST API and OAuth server.

Pure pieces (error classification, Retry-After, backoff, payloads, uuid paths)
are separate from the HTTP client, so the rules can be tested without a network
and the client can be tested against the Zoom simulator over real HTTP.
"""
