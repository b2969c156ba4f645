import os

# The benchmarks start the stack locally with published keys ("bench-secret", "e2e-secret"):
# development is the one place shared.config lets them sign, and every process they start
# inherits this.
os.environ.setdefault("ABIERTO_ENV", "development")
