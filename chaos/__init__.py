"""Fault injection for the fault tests and the soak run: real servers made to fail on purpose.

`tcp_proxy` stands between the service and a server and can cut it off;
`redis_server` runs a Redis of its own that can be stopped and started;
`stack` runs the Procfile's processes, which can be killed.
"""
