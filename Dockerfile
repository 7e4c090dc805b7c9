# The custodywatch image: `custodywatch worker`, `custodywatch simulate`, ... (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
# psycopg is the PostgreSQL driver named by CUSTODYWATCH_DATABASE_URL (postgresql+psycopg://).
RUN pip install . "psycopg[binary]>=3.1,<4" \
    && rm -rf /src

RUN useradd --create-home --uid 10001 --user-group custodywatch
USER custodywatch
WORKDIR /home/custodywatch

EXPOSE 9108 9109
CMD ["custodywatch", "worker"]
