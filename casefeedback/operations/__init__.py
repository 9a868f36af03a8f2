"""For operators: health checks, Prometheus metrics and the request id every log line carries.

Nothing here reads or reports content: counts, ages and the names of failed checks only.
"""
