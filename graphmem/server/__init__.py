"""Server room: the memory behind MCP (stdio, streamable HTTP) and a REST API.

Thin layers over :class:`graphmem.Memory`: ``ops.py`` holds the nine operations once,
``rest.py`` and ``mcp.py`` expose them, ``auth.py`` holds the token and loopback rule.
"""
