# The one image of Abierto: every service and process (the same code, installed once).
# docker-compose.yml runs each Procfile process from it with that process's command.
# Build: docker build -t abierto .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIND_HOST=0.0.0.0 \
    DATA_DIR=/data

# Debian's sh (dash) does not exec the last command of "sh -c", so with the
# compose commands ("sh -c <Procfile line>") it would sit as PID 1, ignore
# SIGTERM and get the real process SIGKILLed after the grace period. bash does
# exec a lone command, so "sh" found on PATH is bash; /bin/sh stays dash.
RUN ln -s /bin/bash /usr/local/bin/sh \
 && useradd --create-home --uid 10001 abierto \
 && mkdir -p /data && chown abierto:abierto /data

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY pyproject.toml gunicorn.conf.py ./
COPY shared/ ./shared/
COPY services/ ./services/
RUN pip install --no-cache-dir --no-deps . && rm -rf build *.egg-info

USER abierto
EXPOSE 5001 5002 5003
# No process is the default: each compose service (or `docker run abierto <command>`) names its own.
CMD ["abierto", "--help"]
